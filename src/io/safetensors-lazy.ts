// A safetensors file read a piece at a time, what its two readers share (src/node/safetensors-file.ts:
// a file on disk; web/checkpoint-files.ts: a File in the page): the header read in two steps, the
// header's answers, and a tensor's bytes turned into checked values, whole or a chunk at a time. Each
// reader only reads bytes, its own way (a descriptor synchronously, File.slice asynchronously).

import { fail, fileLabel, quoteName, SafetensorsError, type ParsedSafetensors, type TensorInfo } from './safetensors-core.js';
import { headerLength } from './safetensors-parse.js';
import { assertFinite, decodeFloat, f32TensorInfo, type FloatDtype } from './safetensors-tensors.js';

/** Bytes a finite scan reads at a time. */
export const SCAN_CHUNK_BYTES = 1 << 22;

/**
 * Where the header ends (8 + N), from the file's first min(8, size) bytes: the reader then reads
 * bytes [0, 8 + N) and gives them to parseSafetensorsHeader with the file size.
 */
export function headerEnd(prefix: Uint8Array, what: string, size: number): number {
  const n = headerLength(prefix, what);
  if (8 + n > size) throw new SafetensorsError(`${fileLabel(what)}: header length ${n} exceeds the file size ${size}`, 'header-size');
  return 8 + n;
}

export class LazySafetensors {
  /** `what` names the file in errors (its path, or the page's label). */
  constructor(readonly parsed: ParsedSafetensors, readonly what: string) {}

  has(name: string): boolean {
    return this.parsed.tensors.has(name);
  }

  shape(name: string): number[] | undefined {
    return this.parsed.tensors.get(name)?.shape;
  }

  /** Checks name, dtype (F32, F16 or BF16) and shape from the header alone. */
  check(name: string, shape: number[]): void {
    f32TensorInfo(this.parsed, name, shape, this.what);
  }

  /** A float tensor's header entry (its bytes are [begin, end)), checked for dtype, and for shape when given. */
  protected floatTensor(name: string, shape?: number[]): TensorInfo {
    return f32TensorInfo(this.parsed, name, shape, this.what);
  }

  /** The tensor's bytes [begin, end) as values (F16/BF16 widened exactly), checked finite. */
  protected values(name: string, info: TensorInfo, bytes: Uint8Array): Float32Array {
    const data = decodeFloat(bytes, info.dtype as FloatDtype);
    assertFinite(name, data, this.what);
    return data;
  }

  /** The byte ranges [at, end) a finite scan reads, SCAN_CHUNK_BYTES at most each, whole values. */
  protected *scanChunks(info: TensorInfo): Generator<[number, number]> {
    const chunk = SCAN_CHUNK_BYTES - (SCAN_CHUNK_BYTES % valueBytes(info));
    for (let at = info.begin; at < info.end; at += chunk) yield [at, Math.min(at + chunk, info.end)];
  }

  /** Throws the error read() would (the tensor and the index) at the first NaN or ±Inf of the chunk read from byte `at`. */
  protected checkChunk(name: string, info: TensorInfo, at: number, bytes: Uint8Array): void {
    const data = decodeFloat(bytes, info.dtype as FloatDtype);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!Number.isFinite(v)) fail(this.what, 'non-finite', `tensor ${quoteName(name)} has a non-finite value ${v} at index ${(at - info.begin) / valueBytes(info) + i}`, name, true);
    }
  }
}

const valueBytes = (info: TensorInfo): number => (info.dtype === 'F32' ? 4 : 2);
