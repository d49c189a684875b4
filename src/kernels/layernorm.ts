// Host side of shaders/layernorm.wgsl: GPT-3's pre-LayerNorm, y = LN(x)·gain + bias, out of place.
//
// Params layout: gain and bias are read from one f32 binding at element offsets. The engine's
// per-layer buffer is [gain (dModel) | bias (dModel)], which the defaults address:
// gainOffset 0, biasOffset gainOffset + dModel.

import layerNormSource from '../../shaders/layernorm.wgsl';
import { reductionConstants, withReduction } from './reduce.js';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, checkIndexRange, fold1D, type Binding, type PreparedDispatch } from '../gpu/dispatch.js';
import { bytesPer, checkPrecision, precisionFlags, requireF16, type Precision } from '../gpu/precision.js';

/** GPT-3's LayerNorm epsilon. */
export const DEFAULT_LAYERNORM_EPS = 1e-5;

export interface LayerNormCall {
  label: string;
  /** Input [rows, dModel] (read only). */
  x: Binding;
  /** Output [rows, dModel]; a different buffer from x (WebGPU refuses a writable alias). */
  y: Binding;
  /** Gain and bias, dModel values each, at gainOffset and biasOffset (elements). */
  params: Binding;
  rows: number;
  dModel: number;
  /** Default 1e-5 (GPT-3). Must be a positive normal f32 so that 1/sqrt(var + eps) stays finite. */
  eps?: number;
  /** Element offset of gain[0] in params; default 0. */
  gainOffset?: number;
  /** Element offset of bias[0] in params; default gainOffset + dModel. */
  biasOffset?: number;
  /** A power of two; default layerNormWorkgroupSize(gpu, dModel). */
  workgroupSize?: number;
  /** Subgroup reductions (default: when the device has the feature); false forces the portable tree. */
  subgroups?: boolean;
  /** Storage of y (default f32); x, gain and bias are f32 and the statistics f32 either way. */
  outPrecision?: Precision;
}

/**
 * Threads per row: about 8 elements per thread, 64 to 256 (768: 128; 12288: 256), so short rows
 * leave no threads idle. A software adapter runs every invocation on a CPU core, where the
 * fewest threads win (as measured for softmax), so there always 64.
 */
export function layerNormWorkgroupSize(gpu: GpuContext, dModel: number): number {
  if (gpu.adapterInfo.isSoftware) return 64;
  return Math.min(256, Math.max(64, 2 ** Math.ceil(Math.log2(dModel / 8))));
}

const elementsOf = (b: Binding, p: Precision = 'f32'): number => Math.floor((b.size ?? b.buffer.size - (b.offset ?? 0)) / bytesPer(p));
const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0;

export async function prepareLayerNorm(gpu: GpuContext, cache: PipelineCache, call: LayerNormCall): Promise<PreparedDispatch> {
  const { label, rows, dModel } = call;
  const eps = call.eps ?? DEFAULT_LAYERNORM_EPS;
  const gainOffset = call.gainOffset ?? 0;
  const biasOffset = call.biasOffset ?? gainOffset + dModel;
  const wg = call.workgroupSize ?? layerNormWorkgroupSize(gpu, dModel);
  const outPrecision = checkPrecision(call.outPrecision, label);
  if (outPrecision === 'f16') requireF16(gpu, label);
  if (!isCount(rows) || rows < 1 || !isCount(dModel) || dModel < 1) {
    throw new InputError(`${label}: rows (${rows}) and dModel (${dModel}) must be positive integers`);
  }
  // Below 2⁻¹²⁶ an f32 eps may be flushed to 0, and a constant row would give 0·∞ = NaN.
  if (!(eps >= 2 ** -126) || !Number.isFinite(eps)) throw new InputError(`${label}: eps (${eps}) must be a positive normal f32`);
  if (!isCount(gainOffset) || !isCount(biasOffset)) {
    throw new InputError(`${label}: gainOffset (${gainOffset}) and biasOffset (${biasOffset}) must be non-negative integers`);
  }
  if (!isCount(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > gpu.limits.maxComputeInvocationsPerWorkgroup) {
    throw new InputError(`${label}: workgroupSize ${wg} must be a power of two ≤ ${gpu.limits.maxComputeInvocationsPerWorkgroup}`);
  }
  // The shader's reads past a binding would be clamped silently, so short bindings are refused here.
  const need = rows * dModel;
  const paramsNeed = Math.max(gainOffset, biasOffset) + dModel;
  for (const [name, b, n, p] of [['x', call.x, need, 'f32'], ['y', call.y, need, outPrecision], ['params', call.params, paramsNeed, 'f32']] as const) {
    if (elementsOf(b, p) < n) throw new InputError(`${label}: the ${name} binding holds ${elementsOf(b, p)} ${p} values, ${n} needed`);
  }
  checkIndexRange(label, Math.max(need, paramsNeed));

  const subgroups = call.subgroups ?? gpu.hasSubgroups;
  const flags = [...(subgroups ? ['subgroups'] : []), ...precisionFlags(outPrecision)];
  const pipeline = await cache.get({ name: 'layernorm', source: withReduction(layerNormSource), flags, constants: { WG: wg, ...reductionConstants(gpu, wg, subgroups) } });
  const { x, y } = fold1D(rows, gpu.limits.maxComputeWorkgroupsPerDimension);
  const uniform = createUniform(
    gpu,
    [{ u32: rows }, { u32: dModel }, { u32: x }, { u32: gainOffset }, { u32: biasOffset }, { f32: eps }],
    `${label} params`,
  );
  const group = bindGroup(gpu, pipeline, label, [call.x, call.y, call.params, uniform]);
  return { label, pipeline, bindGroup: group, grid: [x, y, 1], owned: [uniform] };
}
