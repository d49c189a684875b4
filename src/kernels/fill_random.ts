// Host side of shaders/fill_random.wgsl: seeded weights generated in place on the GPU.

import fillSource from '../../shaders/fill_random.wgsl';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { InputError } from '../gpu/errors.js';
import { bindGroup, checkIndexRange, fold1D, type Binding, type PreparedDispatch } from '../gpu/dispatch.js';
import { bytesPer, checkPrecision, precisionFlags, requireF16, type Precision } from '../gpu/precision.js';

const WG = 256;
const SOFTWARE_PER_THREAD = 64;

export interface FillCall {
  label: string;
  out: Binding;
  key: number;
  count: number;
  scale: number;
  /** Index of the binding's first element within the whole tensor (for chunked fills). */
  offset?: number;
  /**
   * Storage of `out` (default f32). 'f16': each f32 value rounded to F16 exactly as
   * src/io/half.ts f32BitsToF16Bits rounds it, element 0 at the binding's first byte. With an
   * odd count the half-word after the last element keeps its value.
   */
  precision?: Precision;
}

/** A prepared fill whose stream key can be changed between submissions (the same buffer, another tensor). */
export interface FillDispatch extends PreparedDispatch {
  /** Writes the key (word 0 of the parameters) with queue.writeBuffer: it applies to work submitted after it. */
  setKey(key: number): void;
}

export async function prepareFill(gpu: GpuContext, cache: PipelineCache, call: FillCall): Promise<FillDispatch> {
  checkIndexRange(call.label, (call.offset ?? 0) + call.count);
  const precision = checkPrecision(call.precision, call.label);
  if (precision === 'f16') requireF16(gpu, call.label);
  // Threads past the binding would have their writes dropped silently: refuse a short binding.
  const bindingBytes = call.out.size ?? call.out.buffer.size - (call.out.offset ?? 0);
  const needBytes = Math.ceil((call.count * bytesPer(precision)) / 4) * 4;
  if (bindingBytes < needBytes) {
    throw new InputError(`${call.label}: the out binding holds ${bindingBytes} bytes, ${call.count} ${precision} values need ${needBytes}`);
  }
  // lavapipe pays a fixed cost per workgroup: there each thread writes 64 elements (bench/RESULTS.md).
  const perThread = gpu.adapterInfo.isSoftware ? SOFTWARE_PER_THREAD : 1;
  const pipeline = await cache.get({ name: 'fill_random', source: fillSource, flags: precisionFlags(precision), constants: { WG, PER_THREAD: perThread } });
  const threads = precision === 'f16' ? Math.ceil(call.count / 2) : call.count;
  const { x, y } = fold1D(Math.ceil(threads / (WG * perThread)), gpu.limits.maxComputeWorkgroupsPerDimension);
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
