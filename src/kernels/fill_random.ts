// Host side of shaders/fill_random.wgsl: seeded weights generated in place on the GPU.

import fillSource from '../../shaders/fill_random.wgsl';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, checkIndexRange, fold1D, type Binding, type PreparedDispatch } from './dispatch.js';

const WG = 256;

export interface FillCall {
  label: string;
  out: Binding;
  key: number;
  count: number;
  scale: number;
  /** Index of the binding's first element within the whole tensor (for chunked fills). */
  offset?: number;
}

/** A prepared fill whose stream key can be changed between submissions (the same buffer, another tensor). */
export interface FillDispatch extends PreparedDispatch {
  /** Writes the key (word 0 of the parameters) with queue.writeBuffer: it applies to work submitted after it. */
  setKey(key: number): void;
}

export async function prepareFill(gpu: GpuContext, cache: PipelineCache, call: FillCall): Promise<FillDispatch> {
  checkIndexRange(call.label, (call.offset ?? 0) + call.count);
  const pipeline = await cache.get({ name: 'fill_random', source: fillSource, constants: { WG } });
  const { x, y } = fold1D(Math.ceil(call.count / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
  const uniform = createUniform(
    gpu,
    [{ u32: call.key >>> 0 }, { u32: call.offset ?? 0 }, { u32: call.count }, { f32: call.scale }, { u32: x }],
    `${call.label} params`,
  );
  const group = bindGroup(gpu, pipeline, call.label, [call.out, uniform]);
  return {
    label: call.label, pipeline, bindGroup: group, grid: [x, y, 1], owned: [uniform],
    setKey: (key) => gpu.device.queue.writeBuffer(uniform, 0, new Uint32Array([key >>> 0])),
  };
}
