// The one-row products (shaders/matvec.wgsl, chosen by prepareMatmul for M = 1 without a given
// tile): C[offC + n] = act(alpha·Σ_k A[offA + k]·B[offB + n·ldb + k] + bias[offBias + n]) (+ C) against
// float64 from the stored inputs, within the judge's allowance (src/verify/tolerance.ts); scalar
// loads (K 37) and vec4 (K 40), N no multiple of the rows a workgroup takes (75, 301), offsets,
// a row stride past K, a binding offset, accumulation, alpha, both activations, f32 and f16. C is
// poisoned with NaN: an unwritten element fails, and the elements around the written range must
// stay NaN (no stray write). Planted: a skipped bias and alpha 1 instead of 0.5 each fail.
// Fresh random inputs each run; a failure prints its seed.
import { describe, expect, it } from 'vitest';
import { freshSeed, rng, runDispatch, skipWithout, useGpuContext } from '../helpers/gpu.js';
import { poison, readBack, upload, createStorage, writeStorage } from '../../src/gpu/buffers.js';
import { roundArrayToF16 } from '../../src/io/half.js';
import { prepareMatmul, type Activation } from '../../src/kernels/matmul.js';
import { isMatvec } from '../../src/kernels/matvec.js';
import { activate } from '../../src/reference/mlp.js';
import { activationError } from '../../src/verify/layer-bound.js';
import { allowance, judge, matmulElementError, U32 } from '../../src/verify/tolerance.js';

const { ctx, cache } = useGpuContext();

interface Case {
  name: string; N: number; K: number; precision: 'f32' | 'f16'; activation?: Activation; accumulate?: boolean; alpha?: number;
  offA?: number; offC?: number; ldb?: number; bOffsetRows?: number;
}

const CASES: Case[] = [
  { name: 'scalar loads (K 37), bias, f32', N: 75, K: 37, precision: 'f32' },
  { name: 'vec4 (K 40), accumulate, alpha 0.5, offsets, a row stride and a binding offset, f32', N: 301, K: 40, precision: 'f32', accumulate: true, alpha: 0.5, offA: 8, offC: 5, ldb: 44, bOffsetRows: 16 },
  { name: 'gelu_new, vec4, f16', N: 75, K: 40, precision: 'f16', activation: 'gelu_new' },
  { name: 'relu, scalar, accumulate, f32', N: 301, K: 37, precision: 'f32', activation: 'relu', accumulate: true },
  { name: 'one output, K 1', N: 1, K: 1, precision: 'f32' },
];

async function run(c: Case, seed: number) {
  const g = ctx();
  const next = rng(seed);
  const rand = (n: number, scale: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
  const store = (x: Float32Array) => (c.precision === 'f16' ? roundArrayToF16(x) : x);
  const ldb = c.ldb ?? c.K, offA = c.offA ?? 0, offC = c.offC ?? 0, skip = c.bOffsetRows ?? 0;
  const a = store(rand(offA + c.K, 1)), b = store(rand((skip + c.N) * ldb, 3 / Math.sqrt(c.K))), bias = store(rand(c.N, 0.5));
  const start = store(rand(c.N, 1));
  const cLength = offC + c.N + 3;
  const buffers = [upload(g, a, 'A', c.precision), upload(g, b, 'B', c.precision), upload(g, bias, 'bias', c.precision), createStorage(g, cLength, 'C', c.precision)];
  try {
    poison(g, buffers[3]!, undefined, c.precision);
    if (c.accumulate) writeStorage(g, buffers[3]!, offC, start, c.precision);
    const F = c.precision === 'f16' ? 2 : 4;
    const call = {
      label: 'one-row product', M: 1, N: c.N, K: c.K, a: { buffer: buffers[0]! }, offA,
      b: { buffer: buffers[1]!, offset: skip * ldb * F, size: c.N * ldb * F }, ldb,
      bias: { buffer: buffers[2]! }, c: { buffer: buffers[3]! }, offC, transB: true, activation: c.activation, accumulate: c.accumulate, alpha: c.alpha,
      types: { a: c.precision, b: c.precision, bias: c.precision, c: c.precision },
    };
    expect(isMatvec(call)).toBe(true);
    const d = await prepareMatmul(g, cache(), call);
    await runDispatch(g, d, 'one-row product');
    const out = await readBack(g, buffers[3]!, cLength, 0, c.precision);
    return { a: a.subarray(offA), b: b.subarray(skip * ldb), bias, start, out: out.subarray(offC, offC + c.N), guard: [...out.subarray(0, offC), ...out.subarray(offC + c.N)] };
  } finally {
    for (const buf of buffers) buf.destroy();
  }
}

/** float64 of each output and its allowance; `fault` computes what a wrong kernel would have. */
function expected(c: Case, r: Awaited<ReturnType<typeof run>>, fault: { noBias?: boolean; alpha?: number } = {}) {
  const ldb = c.ldb ?? c.K;
  const ref = new Float64Array(c.N), tol = new Float64Array(c.N);
  for (let n = 0; n < c.N; n++) {
    let s = 0, a2 = 0, b2 = 0;
    for (let k = 0; k < c.K; k++) {
      s += r.a[k]! * r.b[n * ldb + k]!;
      a2 += r.a[k]! ** 2;
      b2 += r.b[n * ldb + k]! ** 2;
    }
    const alpha = fault.alpha ?? c.alpha ?? 1;
    const z = alpha * s + (fault.noBias ? 0 : r.bias[n]!);
    const ez = matmulElementError({ normProduct: Math.sqrt(a2 * b2), K: c.K, dot: s, alpha: c.alpha ?? 1, bias: r.bias[n]! });
    const h = c.activation ? activate(c.activation, z) : z;
    const y = h + (c.accumulate ? r.start[n]! : 0);
    ref[n] = y;
    tol[n] = allowance((c.activation ? activationError(c.activation, z, ez) : ez) + U32 * (Math.abs(h) + Math.abs(y)), y, c.precision);
  }
  return { ref, tol };
}

describe('one-row products against float64', () => {
  it.for(CASES)('$name', async (c, t) => {
    if (c.precision === 'f16') skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const r = await run(c, seed);
    const { ref, tol } = expected(c, r);
    const verdict = judge(r.out, ref, tol);
    expect(verdict.passed, `seed ${seed}: ${verdict.detail}`).toBe(true);
    expect(r.guard.every(Number.isNaN), `seed ${seed}: a write outside C's ${c.N} outputs`).toBe(true);
    // Planted: the bias skipped, and (where alpha is 0.5) alpha taken as 1: both fail the same judge.
    expect(judge(r.out, expected(c, r, { noBias: true }).ref, tol).passed, `seed ${seed}: a skipped bias passed`).toBe(false);
    if (c.alpha !== undefined) expect(judge(r.out, expected(c, r, { alpha: 1 }).ref, tol).passed, `seed ${seed}: alpha 1 passed`).toBe(false);
  });

  it('runs only for one row, no batch, no causal mode, a Linear weight and no given tile', () => {
    const base = { M: 1, transB: true };
    expect(isMatvec(base)).toBe(true);
    expect(isMatvec({ ...base, M: 2 })).toBe(false);
    expect(isMatvec({ ...base, batch: 2 })).toBe(false);
    expect(isMatvec({ ...base, transB: false })).toBe(false);
    expect(isMatvec({ ...base, causal: 'limit-k' })).toBe(false);
    expect(isMatvec({ ...base, tile: { kernel: 'shuffle' } })).toBe(false);
  });
});
