// Shared by the LayerNorm tests (f32 and f16 storage of y): cases, the GPU run, and the f32
// error allowance of every element (verification's, src/verify/tolerance.ts).
import { readBack, upload } from '../../src/gpu/buffers.js';
import type { GpuContext } from '../../src/gpu/device.js';
import type { PipelineCache } from '../../src/gpu/pipelines.js';
import { prepareLayerNorm } from '../../src/kernels/layernorm.js';
import type { Precision } from '../../src/gpu/precision.js';
import { layerNorm } from '../../src/reference/layernorm.js';
import { layerNormError } from '../../src/verify/layer-bound.js';
import { BOUND_LAMBDA, U32, judge } from '../../src/verify/tolerance.js';
import { runDispatch, rng } from '../helpers/gpu.js';

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
 * The allowed |gpu − ref| of every element of an f32 y: verification's own, λ·e with e from src/verify/layer-bound.ts
 * (3), layerNormError (src/verify/tolerance.ts: the judge). `workgroupSize` is not in it: (3) takes the summation order
 * as random, which bounds every order the kernel's workgroup sizes give (the planted errors below still fail).
 */
export function allowances(c: Case, _workgroupSize: number, eps: number): Float64Array {
  const { gain, bias } = gainBias(c);
  const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias, eps);
  return layerNormError(c.x, ref, gain, bias, c.rows, c.dModel, U32, eps).map((e) => BOUND_LAMBDA * e);
}

/** The first element over its allowance (or not finite), or null when all pass. */
export function firstFailure(out: ArrayLike<number>, ref: ArrayLike<number>, tol: ArrayLike<number>): string | null {
  const j = judge(out, ref, tol);
  return j.passed ? null : j.detail;
}
