// Host side of shaders/finite_check.wgsl: the first layer after which the residual stream held
// a NaN or ±Inf, found on the GPU whatever the verification mode (one read of x per layer).

import source from '../../shaders/finite_check.wgsl';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { Usage } from '../gpu/usage.js';
import { bindGroup, checkIndexRange, fold1D, type Binding, type PreparedDispatch } from '../gpu/dispatch.js';

const WG = 256;
/** `first` before any non-finite value was seen. */
export const ALL_FINITE = 0xffffffff;

export interface FiniteCheck {
  dispatch: PreparedDispatch;
  /** The flag buffer (one u32), owned by the dispatch. */
  flag: GPUBuffer;
  /** Sets the layer index the next dispatch records. */
  setLayer(layer: number): void;
}

export async function prepareFiniteCheck(gpu: GpuContext, cache: PipelineCache, x: Binding, count: number): Promise<FiniteCheck> {
  checkIndexRange('finite check', count);
  const pipeline = await cache.get({ name: 'finite_check', source, constants: { WG } });
  const { x: gx, y } = fold1D(Math.ceil(count / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
  const flag = gpu.device.createBuffer({ size: 16, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST, label: 'first non-finite layer' });
  gpu.device.queue.writeBuffer(flag, 0, new Uint32Array([ALL_FINITE, 0, 0, 0]));
  const uniform = createUniform(gpu, [{ u32: count }, { u32: 0 }, { u32: gx }], 'finite check params');
  const group = bindGroup(gpu, pipeline, 'finite check', [x, { buffer: flag, size: 4 }, uniform]);
  return {
    dispatch: { label: 'finite check', pipeline, bindGroup: group, grid: [gx, y, 1], owned: [uniform, flag] },
    flag,
    setLayer: (layer) => gpu.device.queue.writeBuffer(uniform, 4, new Uint32Array([layer >>> 0])),
  };
}
