// Shared by the LayerNorm tests (f32 and f16 storage of y): cases, the GPU run, and the f32
// error allowance of every element derived from the kernel's steps.
import { readBack, upload } from '../../src/gpu/buffers.js';
import type { GpuContext } from '../../src/gpu/device.js';
import type { PipelineCache } from '../../src/gpu/pipelines.js';
import { prepareLayerNorm } from '../../src/kernels/layernorm.js';
import type { Precision } from '../../src/kernels/precision.js';
import { runDispatch, rng } from '../helpers/gpu.js';

export const U = 2 ** -24; // f32 unit roundoff

export interface Case {
  x: Float32Array;
  rows: number;
  dModel: number;
  /** [pad | gain | bias] unless offsets say otherwise; padding is NaN, so a wrong offset shows. */
  params: Float32Array;
  gainOffset: number;
  biasOffset: number;
}

export function gainBias(c: Case): { gain: Float32Array; bias: Float32Array } {
  return {
    gain: c.params.subarray(c.gainOffset, c.gainOffset + c.dModel),
    bias: c.params.subarray(c.biasOffset, c.biasOffset + c.dModel),
  };
}

/** Rows of mean `mean(r)` and std ≈ `std(r)` (uniform noise), gain in ±2, bias in ±1, params padded by `pad`. */
export function makeCase(seed: number, rows: number, dModel: number, mean: (r: number) => number, std: (r: number) => number, pad = 0): Case {
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

export interface RunOptions {
  subgroups?: boolean;
  workgroupSize?: number;
  eps?: number;
  gainOffset?: number;
  biasOffset?: number;
  outPrecision?: Precision;
}

/** Runs the kernel; the output buffer is NaN-poisoned with an 8-element guard tail past the rows. */
export async function gpuLayerNorm(gpu: GpuContext, cache: PipelineCache, c: Case, o: RunOptions = {}): Promise<{ out: Float32Array; tail: Float32Array }> {
  const n = c.rows * c.dModel;
  const x = upload(gpu, c.x, 'ln x');
  const y = upload(gpu, new Float32Array(n + 8).fill(Number.NaN), 'ln y', o.outPrecision);
  const params = upload(gpu, c.params, 'ln params');
  try {
    const d = await prepareLayerNorm(gpu, cache, {
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
      outPrecision: o.outPrecision,
    });
    await runDispatch(gpu, d, 'layernorm test');
    const all = await readBack(gpu, y, n + 8, 0, o.outPrecision);
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
export function allowances(c: Case, workgroupSize: number, eps: number): Float64Array {
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
export function firstFailure(out: ArrayLike<number>, ref: ArrayLike<number>, tol: ArrayLike<number>): string | null {
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(out[i]! - ref[i]!);
    if (!Number.isFinite(out[i]!)) return `element ${i} is ${out[i]}`;
    if (err / tol[i]! > worstRatio) [worst, worstRatio] = [i, err / tol[i]!];
  }
  return worstRatio > 1 ? `element ${worst}: ${out[worst]} vs ${ref[worst]}, error ${worstRatio.toFixed(1)}× the allowance ${tol[worst]}` : null;
}
