// Host side of shaders/softmax.wgsl: the masked, numerically stable row softmax.

import softmaxSource from '../../shaders/softmax.wgsl';
import { reductionConstants, withReduction } from './reduce.js';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, fold1D, type Binding, type PreparedDispatch } from '../gpu/dispatch.js';
import { checkPrecision, precisionFlags, requireF16, type Precision } from '../gpu/precision.js';

export interface SoftmaxCall {
  label: string;
  scores: Binding;
  /** Element offset of row 0 within the binding. */
  offset?: number;
  rows: number;
  cols: number;
  /** Query rows per head: row r is query r % seq (for the causal mask). */
  seq: number;
  causal: boolean;
  causalOffset?: number;
  workgroupSize?: number;
  /** Subgroup reductions (default: when the device has the feature); false forces the portable tree. */
  subgroups?: boolean;
  /** Storage of the scores (default f32), in place; the max, exponentials and sum are f32 either way. */
  precision?: Precision;
}

export async function prepareSoftmax(gpu: GpuContext, cache: PipelineCache, call: SoftmaxCall): Promise<PreparedDispatch> {
  // One workgroup per row, about 8 columns per thread (2048 keys: 256 threads), 32 to 256
  // threads. A software adapter runs every invocation on a CPU core, so there the fewest threads
  // win at every row length (measured on lavapipe: bench/RESULTS.md).
  // Where a row fits one subgroup of a software adapter (lavapipe: 8 lanes), 8 threads and subgroup
  // reductions alone: no workgroup memory, no barrier (bench/RESULTS.md).
  const subgroups = call.subgroups ?? gpu.hasSubgroups;
  const sgMin = gpu.adapterInfo.subgroupMinSize;
  const softwareWg = subgroups && sgMin >= 8 ? sgMin : 32;
  const wg = call.workgroupSize ?? (gpu.adapterInfo.isSoftware ? softwareWg : Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(call.cols / 8)))));
  // The tree reduction (shaders/reduce.wgsl) halves the active threads at each step: a power of two only.
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > gpu.limits.maxComputeInvocationsPerWorkgroup) {
    throw new InputError(`${call.label}: workgroupSize ${wg} must be a power of two ≤ ${gpu.limits.maxComputeInvocationsPerWorkgroup}`);
  }
  const precision = checkPrecision(call.precision, call.label);
  if (precision === 'f16') requireF16(gpu, call.label);
  const flags = [...(subgroups ? ['subgroups'] : []), ...precisionFlags(precision)];
  const pipeline = await cache.get({ name: 'softmax', source: withReduction(softmaxSource), flags, constants: { WG: wg, ...reductionConstants(gpu, wg, subgroups) } });
  const { x, y } = fold1D(call.rows, gpu.limits.maxComputeWorkgroupsPerDimension);
  const uniform = createUniform(
    gpu,
    [
      { u32: call.rows }, { u32: call.cols }, { u32: call.seq }, { u32: call.causal ? 1 : 0 },
      { u32: call.causalOffset ?? 0 }, { u32: x }, { u32: call.offset ?? 0 },
    ],
    `${call.label} params`,
  );
  const group = bindGroup(gpu, pipeline, call.label, [call.scores, uniform]);
  return { label: call.label, pipeline, bindGroup: group, grid: [x, y, 1], owned: [uniform] };
}
