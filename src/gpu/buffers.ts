// Buffer helpers: creation checked against the adapter's limits before any allocation,
// uniform packing, uploads and read-backs.

import { MapMode, Usage } from './usage.js';
import type { GpuContext } from './device.js';
import { formatBytes, InputError, OutOfMemoryError } from './errors.js';

export const STORAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

/** Byte size rounded up to 16: WebGPU wants multiples of 4, and some drivers read vec4-wide. */
export const paddedBytes = (elements: number): number => Math.max(16, Math.ceil((elements * 4) / 16) * 16);

/**
 * Creates a storage buffer of `elements` f32 values; refuses, before allocating, sizes over
 * maxBufferSize. Binding-size checks are the caller's (a buffer may be bound in pieces).
 */
export function createStorage(gpu: GpuContext, elements: number, label: string): GPUBuffer {
  const size = paddedBytes(elements);
  if (size > gpu.limits.maxBufferSize) {
    throw new OutOfMemoryError(
      `buffer ${label} needs ${formatBytes(size)}, over the adapter's maxBufferSize of ${formatBytes(gpu.limits.maxBufferSize)}`,
    );
  }
  return gpu.device.createBuffer({ size, usage: STORAGE, label });
}

export function assertBindable(gpu: GpuContext, bytes: number, what: string): void {
  const limit = gpu.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    throw new InputError(
      `${what} needs a ${formatBytes(bytes)} storage binding, over the adapter's maxStorageBufferBindingSize of ${formatBytes(limit)}`,
    );
  }
}

/** Uniform parameters: a list of u32 / f32 fields packed in declaration order. */
export type UniformField = { u32: number } | { f32: number };

export function packUniform(fields: UniformField[]): ArrayBuffer {
  const words = Math.max(4, Math.ceil(fields.length / 4) * 4); // uniform structs round up to 16 bytes
  const buffer = new ArrayBuffer(words * 4);
  const u = new Uint32Array(buffer);
  const f = new Float32Array(buffer);
  fields.forEach((field, i) => {
    if ('u32' in field) {
      if (!Number.isInteger(field.u32) || field.u32 < 0 || field.u32 > 0xffffffff) {
        throw new RangeError(`uniform field ${i} (${field.u32}) does not fit a u32`);
      }
      u[i] = field.u32;
    } else f[i] = field.f32;
  });
  return buffer;
}

export function createUniform(gpu: GpuContext, fields: UniformField[], label: string): GPUBuffer {
  const data = packUniform(fields);
  const buffer = gpu.device.createBuffer({ size: data.byteLength, usage: Usage.UNIFORM | Usage.COPY_DST, label });
  gpu.device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

export function upload(gpu: GpuContext, data: Float32Array, label: string): GPUBuffer {
  const buffer = createStorage(gpu, data.length, label);
  gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/** Fills a buffer with NaN so an element a kernel forgot to write fails verification. */
export function poison(gpu: GpuContext, buffer: GPUBuffer, elements = buffer.size / 4): void {
  const chunk = Math.min(elements, 1 << 22);
  const nan = new Float32Array(chunk).fill(Number.NaN);
  for (let start = 0; start < elements; start += chunk) {
    const count = Math.min(chunk, elements - start);
    gpu.device.queue.writeBuffer(buffer, start * 4, nan.buffer, 0, count * 4);
  }
}

/**
 * Encodes work with `encode`, submits it and waits for the queue to drain, inside error scopes:
 * a validation or out-of-memory error, or the device's loss, is thrown labelled with `label`.
 */
export async function submitAndDrain(gpu: GpuContext, label: string, encode: (encoder: GPUCommandEncoder) => void): Promise<void> {
  await gpu.scoped(label, () => {
    const encoder = gpu.device.createCommandEncoder({ label });
    encode(encoder);
    gpu.device.queue.submit([encoder.finish()]);
  });
  await gpu.drain(label);
}

/** Copies `elements` f32 values starting at element `offset` back to the CPU. */
export function readBack(gpu: GpuContext, source: GPUBuffer, elements: number, offset = 0): Promise<Float32Array> {
  return copyOut(gpu, source, elements, (encoder, staging) => encoder.copyBufferToBuffer(source, offset * 4, staging, 0, elements * 4));
}

/**
 * The f32 values at `indices` only: one 4-byte copy each into one small staging buffer, so
 * checking 256 elements of a 1.6 GB result moves 1 KiB.
 */
export function readAt(gpu: GpuContext, source: GPUBuffer, indices: ArrayLike<number>): Promise<Float32Array> {
  return copyOut(gpu, source, indices.length, (encoder, staging) => {
    for (let i = 0; i < indices.length; i++) encoder.copyBufferToBuffer(source, indices[i]! * 4, staging, i * 4, 4);
  });
}

async function copyOut(gpu: GpuContext, source: GPUBuffer, elements: number, copy: (encoder: GPUCommandEncoder, staging: GPUBuffer) => void): Promise<Float32Array> {
  const staging = gpu.device.createBuffer({
    size: Math.max(4, elements * 4),
    usage: Usage.COPY_DST | Usage.MAP_READ,
    label: `read-back of ${source.label}`,
  });
  try {
    const encoder = gpu.device.createCommandEncoder();
    copy(encoder, staging);
    gpu.device.queue.submit([encoder.finish()]);
    gpu.check(`reading back ${source.label}`);
    await staging.mapAsync(MapMode.READ);
    return new Float32Array(staging.getMappedRange().slice(0, elements * 4));
  } finally {
    staging.destroy();
  }
}
