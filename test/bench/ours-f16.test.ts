// The benchmark's f16 path of our kernels (bench/suites/ours-f16.ts) on tiny shapes of every op: inputs
// rounded to f16, run once, read back (whole and sampled) and checked against float64 from the rounded
// inputs with the f16 storage tolerance. Without shader-f16 the path must say so, never run.

import { describe, expect, it } from 'vitest';
import { makeInputs, type OpCase } from '../../bench/inputs.js';
import { allowanceAt, checkOutput, referenceAt } from '../../bench/verify.js';
import { roundInputs } from '../../bench/suites/f16.js';
import { oursF16 } from '../../bench/suites/ours-f16.js';
import { submitAndDrain } from '../../src/gpu/buffers.js';
import { encode } from '../../src/gpu/dispatch.js';
import { skipWithout, useGpuContext, withoutF16 } from '../helpers/gpu.js';

const CASES: [string, OpCase, boolean][] = [
  ['matmul', { op: 'matmul', M: 24, N: 40, K: 72, batch: 1, transB: false, pattern: false }, false],
  ['matmul A·Bᵀ batched', { op: 'matmul', M: 16, N: 16, K: 8, batch: 3, transB: true, pattern: false }, false],
  ['weighted sums, causal pattern', { op: 'matmul', M: 32, N: 8, K: 32, batch: 2, transB: false, pattern: true }, false],
  ['softmax, causal', { op: 'softmax', rows: 2 * 32, cols: 32, seq: 32, causal: true }, false],
  ['attention core, materialized', { op: 'attention', heads: 2, seq: 32, dHead: 16, causal: true }, false],
  ['attention core, fused', { op: 'attention', heads: 2, seq: 32, dHead: 16, causal: true }, true],
];

describe('our f16 rows in the benchmark', () => {
  const { ctx, cache } = useGpuContext();

  it('is available exactly where the adapter has shader-f16, and says why not elsewhere', () => {
    expect(oursF16(ctx()).available).toBe(ctx().hasF16);
    const none = oursF16(withoutF16(ctx()));
    expect(none.available).toBe(false);
    if (!none.available) expect(none.reason).toMatch(/shader-f16/);
  });

  for (const [name, c, fused] of CASES) {
    it(`${name}: f16 storage, checked against float64 from the rounded inputs`, async (t) => {
      skipWithout(t, ctx(), 'shader-f16'); // the row reports the reason instead (tested above)
      const f16 = oursF16(ctx());
      if (!f16.available) throw new Error(f16.reason);
      const x = roundInputs(makeInputs(c, 7));
      const ours = await f16.prepare(ctx(), cache(), c, x, { fused });
      try {
        await submitAndDrain(ctx(), name, (encoder) => {
          ours.reset?.(encoder);
          for (const stage of ours.stages) {
            const pass = encoder.beginComputePass();
            for (const d of stage.dispatches) encode(pass, d);
            pass.end();
          }
        });
        const ref = referenceAt(c, x, null);
        const check = checkOutput(c, await ours.read(null), ref, null, allowanceAt(c, x, null, ref, 'f16'));
        expect(check.passed, check.detail).toBe(true);
        const sample = Uint32Array.from([0, 5, 17]);
        const sampledRef = referenceAt(c, x, sample);
        const sampled = checkOutput(c, await ours.read(sample), sampledRef, sample, allowanceAt(c, x, sample, sampledRef, 'f16'));
        expect(sampled.passed, sampled.detail).toBe(true);
      } finally {
        ours.destroy();
      }
    });
  }
});
