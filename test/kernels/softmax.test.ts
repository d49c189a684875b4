// The masked softmax alone against the float64 reference: rows sum to 1, masked entries are
// exactly 0, no NaN from extreme rows, every element written (the buffer is poisoned first).
// Then the same with the scores stored as f16 (f32 max, exp and sum inside), against the float64
// softmax of the f16-rounded scores, with planted errors the f16 check must catch.
import { describe, expect, it } from 'vitest';
import { poison, readBack, upload } from '../../src/gpu/buffers.js';
import { prepareSoftmax } from '../../src/kernels/softmax.js';
import type { Precision } from '../../src/gpu/precision.js';
import { F16_UNIT, roundArrayToF16 } from '../../src/io/half.js';
import { softmaxRows } from '../../src/reference/attention.js';
import { rowDisagreement } from '../helpers/pattern-judge.js';
import { freshSeed, rng, runDispatch, skipWithout, uniformArray, useGpuContext, withoutF16 } from '../helpers/gpu.js';

const { ctx, cache } = useGpuContext();

async function gpuSoftmax(scores: Float32Array, rows: number, cols: number, seq: number, causal: boolean, causalOffset = 0, subgroups?: boolean, precision?: Precision, workgroupSize?: number) {
  // A guard tail past the rows must stay untouched (NaN).
  const gpu = ctx();
  const padded = new Float32Array(scores.length + 8).fill(Number.NaN);
  padded.set(scores);
  const buffer = upload(gpu, padded, 'scores', precision);
  const d = await prepareSoftmax(gpu, cache(), { label: 'softmax test', scores: { buffer }, rows, cols, seq, causal, causalOffset, subgroups, precision, workgroupSize });
  try {
    await runDispatch(gpu, d, 'softmax test');
    const all = await readBack(gpu, buffer, padded.length, 0, precision);
    return { out: all.subarray(0, scores.length), tail: all.subarray(scores.length) };
  } finally {
    buffer.destroy();
  }
}

const randomScores = (n: number, scale: number, seed: number): Float32Array => uniformArray(rng(seed), n, scale);

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

describe('softmax kernel', () => {
  for (const c of cases) {
    const offset = c.causalOffset ?? 0;
    it(`${c.heads} heads × ${c.seq} rows × ${c.cols} keys, ${c.causal ? `causal${offset ? ` (offset ${offset})` : ''}` : 'unmasked'}`, async () => {
      const seed = freshSeed();
      const rows = c.heads * c.seq;
      const scores = randomScores(rows * c.cols, 8, seed);
      // Every reduction: subgroups where the device has them (the adapter's default workgroup, which
      // on lavapipe is one subgroup with no workgroup memory, and 64 threads, several subgroups
      // whose partials cross workgroup memory), and the portable tree.
      const variants = [
        ...(ctx().hasSubgroups ? [{ subgroups: true }, { subgroups: true, workgroupSize: 64 }] : []),
        { subgroups: false },
      ];
      for (const { subgroups, workgroupSize } of variants as { subgroups: boolean; workgroupSize?: number }[]) {
        const variant = `${subgroups ? 'subgroup reductions' : 'tree reductions'}${workgroupSize ? `, ${workgroupSize} threads` : ''}`;
        const { out, tail } = await gpuSoftmax(scores, rows, c.cols, c.seq, c.causal, offset, subgroups, undefined, workgroupSize);
        const ref = softmaxRows(Float64Array.from(scores), rows, c.cols, { causal: c.causal, queryRowsPerBlock: c.seq, offset });
        expect(softmaxFailure(out, scores, ref, rows, c.cols, c.seq, c.causal, offset), `${variant}, seed ${seed}`).toBeNull();
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
      // Rows 1 and 2 against the float64 softmax of the scores they may read, by the one judge's row rule.
      expect(rowDisagreement(out.subarray(4, 8), [1e30, 1e30], [0.5, 0.5], 2)).toBe('');
      expect(rowDisagreement(out.subarray(8, 12), [-1e30, 5, -1e30], [0, 1, 0], 3)).toBe('');
    }
  });

  it('planted errors fail the check: one probability 1e-4 relative off, the causal offset one too large', async () => {
    const seed = freshSeed();
    const [rows, cols, seq] = [33, 33, 33];
    const scores = randomScores(rows * cols, 8, seed);
    const ref = softmaxRows(Float64Array.from(scores), rows, cols, { causal: true, queryRowsPerBlock: seq, offset: 0 });
    const { out } = await gpuSoftmax(scores, rows, cols, seq, true, 0);
    expect(softmaxFailure(out, scores, ref, rows, cols, seq, true, 0), `seed ${seed}`).toBeNull();
    const k = out.reduce((best, v, i) => (v > out[best]! ? i : best), 0);
    const planted = out.slice();
    planted[k] = planted[k]! * (1 + 1e-4);
    expect(softmaxFailure(planted, scores, ref, rows, cols, seq, true, 0), `seed ${seed}: 1e-4 off passed`).not.toBeNull();
    const { out: late } = await gpuSoftmax(scores, rows, cols, seq, true, 1);
    expect(softmaxFailure(late, scores, ref, rows, cols, seq, true, 0), `seed ${seed}: causal offset 1 passed`).not.toBeNull();
  });
});

/** Each row of one run against the float64 softmax `ref` of the (stored) scores, by the one judge's row rule
 * (test/helpers/pattern-judge.ts rowDisagreement). Null when every row holds. */
function softmaxFailure(out: Float32Array, scores: Float32Array, ref: Float64Array, rows: number, cols: number, seq: number, causal: boolean, offset: number,
  precision: Precision = 'f32'): string | null {
  for (let r = 0; r < rows; r++) {
    const visible = causal ? Math.min(cols, (r % seq) + offset + 1) : cols;
    const at = (a: Float32Array | Float64Array) => a.subarray(r * cols, (r + 1) * cols);
    const why = rowDisagreement(at(out), at(scores), at(ref), visible, precision);
    if (why) return `row ${r}: ${why}`;
  }
  return null;
}

describe('softmax kernel, scores stored as f16', () => {
  it('is refused by name on a device without shader-f16', async () => {
    const scores = { buffer: { size: 64 } as GPUBuffer };
    await expect(prepareSoftmax(withoutF16(ctx()), cache(), { label: 'f16', scores, rows: 2, cols: 2, seq: 2, causal: true, precision: 'f16' })).rejects.toThrow(/shader-f16/);
  });

  for (const c of cases) {
    const offset = c.causalOffset ?? 0;
    it(`${c.heads} heads × ${c.seq} rows × ${c.cols} keys, ${c.causal ? `causal${offset ? ` (offset ${offset})` : ''}` : 'unmasked'}`, async (t) => {
      skipWithout(t, ctx(), 'shader-f16');
      const seed = freshSeed();
      const rows = c.heads * c.seq;
      const scores = roundArrayToF16(randomScores(rows * c.cols, 8, seed));
      const ref = softmaxRows(Float64Array.from(scores), rows, c.cols, { causal: c.causal, queryRowsPerBlock: c.seq, offset });
      for (const subgroups of ctx().hasSubgroups ? [true, false] : [false]) {
        const { out, tail } = await gpuSoftmax(scores, rows, c.cols, c.seq, c.causal, offset, subgroups, 'f16');
        expect(softmaxFailure(out, scores, ref, rows, c.cols, c.seq, c.causal, offset, 'f16'), `subgroups ${subgroups}, seed ${seed}`).toBeNull();
        expect([...tail].every(Number.isNaN), 'the guard tail past the last row was written').toBe(true);
      }
    });
  }

  it('extreme f16 scores (±65504) give no NaN, and masked scores (NaN) are never read', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const scores = new Float32Array([65504, NaN, NaN, NaN, 6e4, 6e4, NaN, 0, -65504, 5, -65504, 0, 1, 1, 1, 1]);
    for (const subgroups of ctx().hasSubgroups ? [true, false] : [false]) {
      const { out } = await gpuSoftmax(scores, 4, 4, 4, true, 0, subgroups, 'f16');
      expect([...out]).toEqual([1, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 1, 0, 0, 0.25, 0.25, 0.25, 0.25]);
    }
  });

  it('planted errors fail the f16 check: one probability 3 f16 ulps off, the causal offset one too large', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const [rows, cols, seq] = [33, 33, 33];
    const scores = roundArrayToF16(randomScores(rows * cols, 8, seed));
    const ref = softmaxRows(Float64Array.from(scores), rows, cols, { causal: true, queryRowsPerBlock: seq, offset: 0 });
    const { out } = await gpuSoftmax(scores, rows, cols, seq, true, 0, undefined, 'f16');
    expect(softmaxFailure(out, scores, ref, rows, cols, seq, true, 0, 'f16'), `seed ${seed}`).toBeNull();
    const k = out.reduce((best, v, i) => (v > out[best]! ? i : best), 0);
    const planted = out.slice();
    planted[k] = planted[k]! * (1 + 6 * F16_UNIT);
    expect(softmaxFailure(planted, scores, ref, rows, cols, seq, true, 0, 'f16'), `seed ${seed}: 3 ulps passed`).not.toBeNull();
    const { out: late } = await gpuSoftmax(scores, rows, cols, seq, true, 1, undefined, 'f16');
    expect(softmaxFailure(late, scores, ref, rows, cols, seq, true, 0, 'f16'), `seed ${seed}: causal offset 1 passed`).not.toBeNull();
  });
});
