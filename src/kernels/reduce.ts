// Host side of shaders/reduce.wgsl, the workgroup reduction softmax.wgsl and layernorm.wgsl share:
// WGSL has no include, so the shared file is appended to theirs (after their `enable` lines, which
// must come first), and its ONE_SUBGROUP override is chosen here.

import reduceSource from '../../shaders/reduce.wgsl';
import type { GpuContext } from '../gpu/device.js';

/** A row kernel's source with the shared reduction appended. */
export const withReduction = (source: string): string => `${source}\n${reduceSource}`;

/**
 * The reduction's override: 1 where subgroup reductions are on and the whole workgroup is one
 * subgroup (WG at most the adapter's smallest subgroup), so no value crosses workgroup memory.
 */
export function reductionConstants(gpu: Pick<GpuContext, 'adapterInfo'>, wg: number, subgroups: boolean): { ONE_SUBGROUP: number } {
  const smallest = gpu.adapterInfo.subgroupMinSize;
  return { ONE_SUBGROUP: subgroups && smallest > 0 && wg <= smallest ? 1 : 0 };
}
