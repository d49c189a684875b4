// The LayerNorm kernel against the float64 reference: every d_model shape class (1 to 12288,
// odd, prime, past a multiple of the workgroup), subgroup and tree reductions, a residual stream
// with |mean| ≈ 300 and std ≈ 1, constant rows (y = bias exactly), every element written (the
// output is poisoned with NaN and has a guard tail), and planted errors the check must catch.
import { describe, expect, it } from 'vitest';
import { readBack, upload } from '../../src/gpu/buffers.js';
import { InputError } from '../../src/gpu/errors.js';
import { layerNormWorkgroupSize, prepareLayerNorm } from '../../src/kernels/layernorm.js';
import { LAYERNORM_EPS, layerNorm } from '../../src/reference/layernorm.js';
import { freshSeed, rng, runDispatch, useGpuContext } from '../helpers/gpu.js';

const { ctx, cache } = useGpuContext();
const U = 2 ** -24; // f32 unit roundoff

interface Case {
  x: Float32Array;
  rows: number;
  dModel: number;
  /** [pad | gain | bias] unless offsets say otherwise; padding is NaN, so a wrong offset shows. */
  params: Float32Array;
  gainOffset: number;
  biasOffset: number;
}

function gainBias(c: Case): { gain: Float32Array; bias: Float32Array } {
  return {
    gain: c.params.subarray(c.gainOffset, c.gainOffset + c.dModel),
    bias: c.params.subarray(c.biasOffset, c.biasOffset + c.dModel),
  };
}

/** Rows of mean `mean(r)` and std ≈ `std(r)` (uniform noise), gain in ±2, bias in ±1, params padded by `pad`. */
function makeCase(seed: number, rows: number, dModel: number, mean: (r: number) => number, std: (r: number) => number, pad = 0): Case {
  const rand = rng(seed);
  const x = new Float32Array(rows * dModel);
  for (let r = 0; r < rows; r++) {
    const m = mean(r);
    const s = std(r);
    for (let j = 0; j < dModel; j++) x[r * dModel + j] = m + s * Math.sqrt(3) * (2 * rand() - 1);
  }
  const params = new Float32Array(pad + 2 * dModel + 3).fill(Number.NaN);
  for (let j = 0; j < dModel; j++) {
    params[pad + j] = 4 * rand() - 2;
    params[pad + dModel + j] = 2 * rand() - 1;
  }
  return { x, rows, dModel, params, gainOffset: pad, biasOffset: pad + dModel };
}

interface RunOptions {
  subgroups?: boolean;
  workgroupSize?: number;
  eps?: number;
  gainOffset?: number;
  biasOffset?: number;
}

/** Runs the kernel; the output buffer is NaN-poisoned with an 8-element guard tail past the rows. */
async function gpuLayerNorm(c: Case, o: RunOptions = {}): Promise<{ out: Float32Array; tail: Float32Array }> {
  const gpu = ctx();
  const n = c.rows * c.dModel;
  const x = upload(gpu, c.x, 'ln x');
  const y = upload(gpu, new Float32Array(n + 8).fill(Number.NaN), 'ln y');
  const params = upload(gpu, c.params, 'ln params');
  try {
    const d = await prepareLayerNorm(gpu, cache(), {
      label: 'layernorm test',
      x: { buffer: x },
      y: { buffer: y },
      params: { buffer: params },
      rows: c.rows,
      dModel: c.dModel,
      eps: o.eps,
      gainOffset: o.gainOffset ?? c.gainOffset,
      biasOffset: o.biasOffset ?? c.biasOffset,
      subgroups: o.subgroups,
      workgroupSize: o.workgroupSize,
    });
    await runDispatch(gpu, d, 'layernorm test');
    const all = await readBack(gpu, y, n + 8);
    return { out: all.subarray(0, n), tail: all.subarray(n) };
  } finally {
    for (const b of [x, y, params]) b.destroy();
  }
}

/**
 * The allowed |gpu − ref| per element, from f32 rounding (u = 2⁻²⁴) through the kernel's steps.
 * Row statistics μ, σ = √(var + eps) and z = (x − μ)/σ are float64; K = x[0] is the kernel's
 * shift; W threads; h = ⌈n/W⌉ + W bounds the additions any partial sum takes part in (a thread's
 * serial sum of ⌈n/W⌉ terms, then a tree of log₂W ≤ W levels, or a subgroup add and a serial sum
 * of W/subgroup partials, ≤ W); a sum of terms tᵢ through h additions errs by ≤ h·u·Σ|tᵢ|.
 *  1. mean: Σ(x − K) errs by ≤ h·u·n·A, A = mean |x − K| (the shifted terms, of the size of σ,
 *     not of |μ|), so s/n by ≤ (h + 1)·u·A; adding back K rounds once more: u·|μ|.
 *     δμ ≤ u·|μ| + (h + 1)·u·A.
 *  2. x − μ̂ rounds once: u·|x − μ|. With 1., z is off by (u·|μ| + (h + 1)·u·A + u·|x − μ|)/σ:
 *     the |μ|/σ term is the deep-stack one, u·300 ≈ 1.8e-5 for |μ| ≈ 300, σ ≈ 1, and no
 *     summation order can avoid it (μ itself is an f32).
 *  3. variance: Σ(x − μ̂)² errs by (h + 2)·u relative (the squares and h additions; δμ adds
 *     only n·δμ², second order); /n and + eps: 2u; inverseSqrt ≤ 2 ULP = 4u. So 1/σ is off by
 *     ≤ ((h + 4)/2 + 4)·u relative, and z by that times |z|.
 *  4. ·rstd, ·gain: 2u·|z·g| relative; + bias: u·|y|.
 * Sum: |g|·[(u|μ| + (h + 1)u·A + u|x − μ|)/σ + ((h + 4)/2 + 6)·u·|z|] + u·|y|, doubled for the
 * second-order terms and WGSL's 2.5-ULP f32 division. The one-pass E[x²] − μ² fails it by
 * orders of magnitude when |μ| ≫ σ (checked below).
 */
function allowances(c: Case, workgroupSize: number, eps: number): Float64Array {
  const { gain, bias } = gainBias(c);
  const n = c.dModel;
  const h = Math.ceil(n / workgroupSize) + workgroupSize;
  const tol = new Float64Array(c.rows * n);
  for (let r = 0; r < c.rows; r++) {
    const row = c.x.subarray(r * n, (r + 1) * n);
    const mu = row.reduce((a, v) => a + v, 0) / n;
    const sigma = Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / n + eps);
    const A = row.reduce((a, v) => a + Math.abs(v - row[0]!), 0) / n;
    for (let j = 0; j < n; j++) {
      const dev = Math.abs(row[j]! - mu);
      const z = dev / sigma;
      const g = Math.abs(gain[j]!);
      const y = Math.abs(((row[j]! - mu) / sigma) * gain[j]! + bias[j]!);
      tol[r * n + j] = 2 * (g * ((U * Math.abs(mu) + (h + 1) * U * A + U * dev) / sigma + ((h + 4) / 2 + 6) * U * z) + U * y);
    }
  }
  return tol;
}

/** The first element over its allowance (or not finite), or null when all pass. */
function firstFailure(out: ArrayLike<number>, ref: ArrayLike<number>, tol: ArrayLike<number>): string | null {
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(out[i]! - ref[i]!);
    if (!Number.isFinite(out[i]!)) return `element ${i} is ${out[i]}`;
    if (err / tol[i]! > worstRatio) [worst, worstRatio] = [i, err / tol[i]!];
  }
  return worstRatio > 1 ? `element ${worst}: ${out[worst]} vs ${ref[worst]}, error ${worstRatio.toFixed(1)}× the allowance ${tol[worst]}` : null;
}

async function expectAccurate(c: Case, what: string, o: RunOptions = {}): Promise<void> {
  const eps = o.eps ?? LAYERNORM_EPS;
  const { gain, bias } = gainBias(c);
  const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias, eps);
  const wg = o.workgroupSize ?? layerNormWorkgroupSize(ctx(), c.dModel);
  const tol = allowances(c, wg, eps);
  const { out, tail } = await gpuLayerNorm(c, o);
  expect(firstFailure(out, ref, tol), what).toBeNull();
  expect([...tail].every(Number.isNaN), `${what}: the guard tail past the last row was written`).toBe(true);
}

/** Both reductions where the device has subgroups (lavapipe does), else the tree alone. */
const variants = (): boolean[] => (ctx().hasSubgroups ? [true, false] : [false]);
const label = (sg: boolean): string => (sg ? 'subgroup reductions' : 'tree reductions');

describe('layernorm kernel', () => {
  for (const dModel of [1, 3, 7, 64, 100, 768, 1000, 4099, 12288]) {
    it(`dModel ${dModel}, rows 1, 5, 33`, async () => {
      for (const rows of [1, 5, 33]) {
        const seed = freshSeed();
        // Means in ±2, stds 0.5 to 2; params padded by 0 to 2 NaNs (the gain's offset).
        const rand = rng(seed ^ 0x5bd1e995);
        const c = makeCase(seed, rows, dModel, () => 4 * rand() - 2, () => 0.5 + 1.5 * rand(), dModel % 3);
        for (const sg of variants()) await expectAccurate(c, `${rows} rows, ${label(sg)}, seed ${seed}`, { subgroups: sg });
      }
    });
  }

  it('a deep residual stream: |mean| ≈ 300, std ≈ 1, stays accurate (two-pass, shifted mean)', async () => {
    for (const dModel of [768, 12288]) {
      const seed = freshSeed();
      const c = makeCase(seed, 5, dModel, (r) => (r % 2 ? -1 : 1) * (250 + 25 * r), () => 1);
      for (const sg of variants()) await expectAccurate(c, `dModel ${dModel}, ${label(sg)}, seed ${seed}`, { subgroups: sg });
    }
  });

  it('the allowance is tight enough to fail the one-pass E[x²] − mean² on that stream', () => {
    // An f32 emulation of the one-pass variance (serial sums, the kernel's own order per thread).
    const c = makeCase(12345, 5, 12288, (r) => 300 + r, () => 1);
    const n = c.dModel;
    const { gain, bias } = gainBias(c);
    const naive = new Float64Array(c.rows * n);
    for (let r = 0; r < c.rows; r++) {
      const row = c.x.subarray(r * n, (r + 1) * n);
      let s = 0;
      let s2 = 0;
      for (const v of row) {
        s = Math.fround(s + v);
        s2 = Math.fround(s2 + Math.fround(v * v));
      }
      const mu = Math.fround(s / n);
      const variance = Math.max(0, Math.fround(Math.fround(s2 / n) - Math.fround(mu * mu)));
      const rstd = 1 / Math.sqrt(variance + LAYERNORM_EPS);
      for (let j = 0; j < n; j++) naive[r * n + j] = (row[j]! - mu) * rstd * gain[j]! + bias[j]!;
    }
    const ref = layerNorm(c.x, c.rows, n, gain, bias);
    expect(firstFailure(naive, ref, allowances(c, 64, LAYERNORM_EPS))).not.toBeNull();
  });

  it('constant rows give y = bias exactly, no NaN', async () => {
    for (const dModel of [1, 7, 768, 12288]) {
      const values = [0, 300, -1234.5, 0.1, 3e-8, 1e6];
      const c = makeCase(freshSeed(), values.length, dModel, () => 0, () => 0);
      values.forEach((v, r) => c.x.fill(v, r * dModel, (r + 1) * dModel));
      const { bias } = gainBias(c);
      for (const sg of variants()) {
        const { out } = await gpuLayerNorm(c, { subgroups: sg });
        for (let r = 0; r < values.length; r++) {
          expect([...out.subarray(r * dModel, (r + 1) * dModel)], `dModel ${dModel}, row of ${values[r]}, ${label(sg)}`).toEqual([...bias]);
        }
      }
    }
  });

  it('every workgroup size, and params with the bias before the gain', async () => {
    const seed = freshSeed();
    const dModel = 1000;
    const c = makeCase(seed, 5, dModel, () => 1, () => 1, 4);
    // Swap to [pad | bias | gain].
    const { gain, bias } = gainBias(c);
    const params = c.params.slice();
    params.set(bias, 4);
    params.set(gain, 4 + dModel);
    const swapped = { ...c, params, gainOffset: 4 + dModel, biasOffset: 4 };
    for (const workgroupSize of [64, 128, 256]) {
      for (const sg of variants()) await expectAccurate(swapped, `WG ${workgroupSize}, ${label(sg)}, seed ${seed}`, { subgroups: sg, workgroupSize });
    }
  });

  it('rows past maxComputeWorkgroupsPerDimension fold into a 2-D grid', async () => {
    const rows = ctx().limits.maxComputeWorkgroupsPerDimension + 3;
    const seed = freshSeed();
    const c = makeCase(seed, rows, 2, (r) => r % 7, () => 1);
    await expectAccurate(c, `${rows} rows, seed ${seed}`);
  });

  it('a small-variance row is accurate with the right eps, and the check catches eps 10× off', async () => {
    // var ≈ 1e-5 = eps: eps decides half the denominator.
    const seed = freshSeed();
    const c = makeCase(seed, 3, 768, () => 5, () => Math.sqrt(1e-5));
    await expectAccurate(c, `seed ${seed}`);
    const { gain, bias } = gainBias(c);
    const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias, LAYERNORM_EPS);
    const tol = allowances(c, layerNormWorkgroupSize(ctx(), c.dModel), LAYERNORM_EPS);
    const { out } = await gpuLayerNorm(c, { eps: 10 * LAYERNORM_EPS });
    expect(firstFailure(out, ref, tol), 'eps 1e-4 instead of 1e-5 passed').not.toBeNull();
  });

  it('the check catches a gain offset off by one', async () => {
    const seed = freshSeed();
    const c = makeCase(seed, 5, 64, () => 0, () => 1, 2);
    const { gain, bias } = gainBias(c);
    const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias);
    const tol = allowances(c, layerNormWorkgroupSize(ctx(), c.dModel), LAYERNORM_EPS);
    const { out } = await gpuLayerNorm(c, { gainOffset: c.gainOffset + 1, biasOffset: c.biasOffset });
    expect(firstFailure(out, ref, tol), 'gain read one element late passed').not.toBeNull();
  });

  it('refuses bad calls before any GPU work', async () => {
    const gpu = ctx();
    const buffer = upload(gpu, new Float32Array(64), 'ln small');
    const b = { buffer };
    const call = { label: 'ln bad', x: b, y: b, params: b, rows: 2, dModel: 16 };
    try {
      await expect(prepareLayerNorm(gpu, cache(), { ...call, eps: 0 })).rejects.toThrow(InputError);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, dModel: 0 })).rejects.toThrow(/positive integers/);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, workgroupSize: 96 })).rejects.toThrow(/power of two/);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, gainOffset: 40 })).rejects.toThrow(/params binding holds 64 f32 values, 72 needed/);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, rows: 5 })).rejects.toThrow(/x binding/);
    } finally {
      buffer.destroy();
    }
  });
});
