// Buffer helpers: creation checked against the adapter's limits before any allocation,
// uniform packing, uploads and read-backs. Storage holds f32 or, with precision 'f16', IEEE
// binary16 values (2 bytes each): the host converts on the way in (round to nearest even,
// src/io/half.ts) and widens exactly on the way out, so callers always see Float32Array.

import { MapMode, Usage } from './usage.js';
import type { GpuContext } from './device.js';
import { formatBytes, InputError, OutOfMemoryError } from './errors.js';
import { f16ToNumber, f32BitsToF16Bits } from '../io/half.js';
import { bytesPer, type Precision } from './precision.js';

export const STORAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

/** Byte size rounded up to 16: WebGPU wants multiples of 4, and some drivers read vec4-wide. */
export const paddedBytes = (elements: number, precision: Precision = 'f32'): number =>
  Math.max(16, Math.ceil((elements * bytesPer(precision)) / 16) * 16);

/**
 * Creates a storage buffer of `elements` f32 (or f16) values; refuses, before allocating, sizes
 * over maxBufferSize. Binding-size checks are the caller's (a buffer may be bound in pieces).
 */
export function createStorage(gpu: GpuContext, elements: number, label: string, precision: Precision = 'f32'): GPUBuffer {
  const size = paddedBytes(elements, precision);
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

/** A new storage buffer holding `data` (with 'f16', each value rounded to nearest even). */
export function upload(gpu: GpuContext, data: Float32Array, label: string, precision: Precision = 'f32'): GPUBuffer {
  const buffer = createStorage(gpu, data.length, label, precision);
  writeStorage(gpu, buffer, 0, data, precision);
  return buffer;
}

/** `data` as little-endian F16 words, rounded to nearest even; padded to an even count with +0. */
export function toF16Words(data: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(data.length + (data.length & 1));
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < data.length; i++) {
    f[0] = data[i]!;
    out[i] = f32BitsToF16Bits(u[0]!);
  }
  return out;
}

/**
 * Writes `data` into an existing storage buffer from element `elementOffset` on (queue.writeBuffer:
 * ordered with later submissions). With 'f16' each value is rounded to nearest even, the offset
 * must be even (WebGPU writes whole 4-byte words), and an odd count also writes the half-word
 * after the last element as +0: the buffer's padding, or the next tensor's first element, which
 * the caller writes afterwards.
 */
export function writeStorage(gpu: GpuContext, buffer: GPUBuffer, elementOffset: number, data: Float32Array, precision: Precision = 'f32'): void {
  if (precision === 'f32') {
    gpu.device.queue.writeBuffer(buffer, elementOffset * 4, data.buffer, data.byteOffset, data.byteLength);
    return;
  }
  if (elementOffset % 2 !== 0) throw new RangeError(`writing ${buffer.label} as f16: element offset ${elementOffset} must be even`);
  const words = toF16Words(data);
  gpu.device.queue.writeBuffer(buffer, elementOffset * 2, words.buffer, 0, words.byteLength);
}

/** writeStorage in f16 at a byte offset (a multiple of 4), for per-layer weight uploads. */
export function writeF32AsF16(gpu: GpuContext, buffer: GPUBuffer, byteOffset: number, data: Float32Array): void {
  if (byteOffset % 4 !== 0) throw new RangeError(`writing ${buffer.label} as f16: byte offset ${byteOffset} must be a multiple of 4`);
  writeStorage(gpu, buffer, byteOffset / 2, data, 'f16');
}

/** Quiet NaN as F16 bits. */
export const F16_NAN = 0x7e00;

/**
 * Fills a buffer with NaN so an element a kernel forgot to write fails verification. With 'f16'
 * the default count is the buffer's size in halves, and an odd count is rounded up (the extra
 * half-word is NaN too).
 */
export function poison(gpu: GpuContext, buffer: GPUBuffer, elements?: number, precision: Precision = 'f32'): void {
  const bytes = Math.min(buffer.size, Math.ceil(((elements ?? buffer.size / bytesPer(precision)) * bytesPer(precision)) / 4) * 4);
  const words = bytes / 4;
  const chunk = Math.min(words, 1 << 22);
  const nan = new Uint32Array(chunk).fill(precision === 'f16' ? (F16_NAN << 16) | F16_NAN : 0x7fc00000);
  for (let start = 0; start < words; start += chunk) {
    const count = Math.min(chunk, words - start);
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

/**
 * Copies `elements` values starting at element `offset` back to the CPU, as f32 (f16 storage
 * widened exactly). With 'f16' the copy covers whole 4-byte words around the range.
 */
export async function readBack(gpu: GpuContext, source: GPUBuffer, elements: number, offset = 0, precision: Precision = 'f32'): Promise<Float32Array> {
  if (precision === 'f32') {
    const bytes = await copyOut(gpu, source, elements * 4, (encoder, staging) => encoder.copyBufferToBuffer(source, offset * 4, staging, 0, elements * 4));
    return new Float32Array(bytes);
  }
  const first = offset & ~1; // an even half, so the copy starts on a word
  const words = Math.ceil((offset + elements - first) / 2);
  const bytes = await copyOut(gpu, source, words * 4, (encoder, staging) => encoder.copyBufferToBuffer(source, first * 2, staging, 0, words * 4));
  return widenF16(new Uint16Array(bytes), offset - first, elements);
}

/**
 * The values at `indices` only: one 4-byte copy each into one small staging buffer, so
 * checking 256 elements of a 1.6 GB result moves 1 KiB (f16: the word holding each half).
 */
export async function readAt(gpu: GpuContext, source: GPUBuffer, indices: ArrayLike<number>, precision: Precision = 'f32'): Promise<Float32Array> {
  const half = precision === 'f16';
  const bytes = await copyOut(gpu, source, indices.length * 4, (encoder, staging) => {
    for (let i = 0; i < indices.length; i++) encoder.copyBufferToBuffer(source, half ? (indices[i]! >>> 1) * 4 : indices[i]! * 4, staging, i * 4, 4);
  });
  if (!half) return new Float32Array(bytes);
  const h = new Uint16Array(bytes);
  return Float32Array.from({ length: indices.length }, (_, i) => f16ToNumber(h[2 * i + (indices[i]! & 1)]!));
}

function widenF16(h: Uint16Array, start: number, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = f16ToNumber(h[start + i]!);
  return out;
}

async function copyOut(gpu: GpuContext, source: GPUBuffer, bytes: number, copy: (encoder: GPUCommandEncoder, staging: GPUBuffer) => void): Promise<ArrayBuffer> {
  const staging = gpu.device.createBuffer({
    size: Math.max(4, bytes),
    usage: Usage.COPY_DST | Usage.MAP_READ,
    label: `read-back of ${source.label}`,
  });
  try {
    const encoder = gpu.device.createCommandEncoder();
    copy(encoder, staging);
    gpu.device.queue.submit([encoder.finish()]);
    gpu.check(`reading back ${source.label}`);
    await staging.mapAsync(MapMode.READ);
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    staging.destroy();
  }
}
