// The masked softmax alone against the float64 reference: rows sum to 1, masked entries are
// exactly 0, no NaN from extreme rows, every element written (the buffer is poisoned first).
import { describe, expect, it } from 'vitest';
import { poison, readBack, upload } from '../../src/gpu/buffers.js';
import { prepareSoftmax } from '../../src/kernels/softmax.js';
import { softmaxRows } from '../../src/reference/attention.js';
import { compare } from '../../src/verify/compare.js';
import { runDispatch, useGpuContext } from '../helpers/gpu.js';

const { ctx, cache } = useGpuContext();

async function gpuSoftmax(scores: Float32Array, rows: number, cols: number, seq: number, causal: boolean, causalOffset = 0, subgroups?: boolean) {
  // A guard tail past the rows must stay untouched (NaN).
  const gpu = ctx();
  const padded = new Float32Array(scores.length + 8).fill(Number.NaN);
  padded.set(scores);
  const buffer = upload(gpu, padded, 'scores');
  const d = await prepareSoftmax(gpu, cache(), { label: 'softmax test', scores: { buffer }, rows, cols, seq, causal, causalOffset, subgroups });
  try {
    await runDispatch(gpu, d, 'softmax test');
    const all = await readBack(gpu, buffer, padded.length);
    return { out: all.subarray(0, scores.length), tail: all.subarray(scores.length) };
  } finally {
    buffer.destroy();
  }
}

function randomScores(n: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

describe('softmax kernel', () => {
  const cases = [
    { heads: 1, seq: 1, cols: 1, causal: true },
    { heads: 3, seq: 7, cols: 7, causal: true },
    { heads: 2, seq: 17, cols: 17, causal: false },
    { heads: 2, seq: 5, cols: 300, causal: false },
    { heads: 4, seq: 33, cols: 33, causal: true },
    // Long rows: each thread strides over many keys (WG is 32 on software adapters, at most 256
    // elsewhere) and the last stride is partial. With a causal offset (a late query block of a long
    // context) the visible keys end inside the row: 2297…2300 of 2300, and 2047, 2048, 2049 of 2049,
    // one before, at and one past a multiple of every power-of-two WG.
    { heads: 2, seq: 3, cols: 2500, causal: false },
    { heads: 1, seq: 4, cols: 2300, causal: true, causalOffset: 2296 },
    { heads: 1, seq: 3, cols: 2049, causal: true, causalOffset: 2046 },
  ];
  for (const c of cases) {
    const offset = c.causalOffset ?? 0;
    it(`${c.heads} heads × ${c.seq} rows × ${c.cols} keys, ${c.causal ? `causal${offset ? ` (offset ${offset})` : ''}` : 'unmasked'}`, async () => {
      const seed = Math.floor(Math.random() * 2 ** 31);
      const rows = c.heads * c.seq;
      const scores = randomScores(rows * c.cols, 8, seed);
      // Both reductions: subgroups where the device has them, and the portable tree.
      for (const subgroups of ctx().hasSubgroups ? [true, false] : [false]) {
        const variant = subgroups ? 'subgroup reductions' : 'tree reductions';
        const { out, tail } = await gpuSoftmax(scores, rows, c.cols, c.seq, c.causal, offset, subgroups);
        const ref = softmaxRows(Float64Array.from(scores), rows, c.cols, { causal: c.causal, queryRowsPerBlock: c.seq, offset });
        // Each probability is one exp and one division in f32: a few ulps of values ≤ 1.
        const cmp = compare(out, ref, { atol: 1e-6, rtol: 1e-5 });
        expect(cmp.passed, `${variant}, seed ${seed}: max abs error ${cmp.maxAbsError} at ${cmp.worstIndex}`).toBe(true);
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let j = 0; j < c.cols; j++) {
            const v = out[r * c.cols + j]!;
            if (c.causal && j > (r % c.seq) + offset) expect(v, `${variant}: row ${r} key ${j} is masked`).toBe(0);
            sum += v;
          }
          expect(Math.abs(sum - 1), `${variant}: row ${r} sums to ${sum}`).toBeLessThan(1e-5);
        }
        expect([...tail].every(Number.isNaN), `${variant}: the guard tail past the last row was written`).toBe(true);
      }
    });
  }

  it('extreme scores give no NaN, and masked scores are never read', async () => {
    const seq = 4;
    const scores = new Float32Array([3e38, -3e38, 0, 0, 1e30, 1e30, 0, 0, -1e30, 5, -1e30, 0, 1, 1, 1, 1]);
    // Masked positions hold NaN: the kernel must not read them.
    scores[1] = Number.NaN;
    scores[2] = Number.NaN;
    scores[3] = Number.NaN;
    scores[6] = Number.NaN;
    for (const subgroups of ctx().hasSubgroups ? [true, false] : [false]) {
      const { out } = await gpuSoftmax(scores, seq, seq, seq, true, 0, subgroups);
      expect([...out].every(Number.isFinite)).toBe(true);
      expect([...out.subarray(0, 4)]).toEqual([1, 0, 0, 0]);
      expect(out[4]).toBeCloseTo(0.5, 6);
      expect(out[9]).toBeCloseTo(1, 6);
    }
  });
});
