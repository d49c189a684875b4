// Host side of shaders/reduce.wgsl, the workgroup reduction softmax.wgsl and layernorm.wgsl share:
// appended to theirs (withShared), and its ONE_SUBGROUP override chosen here.

import reduceSource from '../../shaders/reduce.wgsl';
import type { GpuContext } from '../gpu/device.js';
import { withShared } from '../gpu/preprocess.js';

/** A row kernel's source with the shared reduction appended. */
export const withReduction = (source: string): string => withShared(source, { file: 'reduce.wgsl', text: reduceSource });

/**
 * The reduction's override: 1 where subgroup reductions are on and the whole workgroup is one
 * subgroup (WG at most the adapter's smallest subgroup), so no value crosses workgroup memory.
 */
export function reductionConstants(gpu: Pick<GpuContext, 'adapterInfo'>, wg: number, subgroups: boolean): { ONE_SUBGROUP: number } {
  const smallest = gpu.adapterInfo.subgroupMinSize;
  return { ONE_SUBGROUP: subgroups && smallest > 0 && wg <= smallest ? 1 : 0 };
}
