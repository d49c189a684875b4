// Tensors into safetensors bytes: the writer, whose output always passes the strict reader.

import { fail, quoteName, LITTLE_ENDIAN, METADATA_KEY, elementCount, isIndex, isWellFormed, shortList } from './safetensors-core.js';
import { parseSafetensorsHeader } from './safetensors-parse.js';
import { encodeF16 } from './half.js';

/**
 * F32 tensors to safetensors bytes. The header lists `__metadata__` (string → string, keys
 * sorted) first, then the tensors sorted by name (UTF-16 code unit order); the data area holds
 * them in that order, back to back from byte 0. The header is padded with spaces so the data
 * area starts at a multiple of 8 bytes, as the reference implementation does. The result is
 * checked by the strict reader before it is returned.
 */
export function serializeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array; dtype?: 'F32' | 'F16' }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const bad: (detail: string, tensor?: string) => never = (detail, tensor) => fail('write', 'write', detail, tensor);
  const names = Object.keys(tensors).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const kv: string[] = [];
    for (const k of keys) {
      const v = metadata[k];
      if (typeof v !== 'string') bad(`metadata ${quoteName(k)} must be a string, got ${typeof v}`);
      if (!isWellFormed(k) || !isWellFormed(v)) bad(`metadata ${quoteName(k)} holds a lone surrogate (not UTF-8)`);
      kv.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${kv.join(',')}}`);
  }
  // Each tensor's bytes first: narrowing to F16 refuses a value past its range, naming the tensor.
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    if (name === METADATA_KEY) bad(`the name ${METADATA_KEY} is reserved`);
    if (!isWellFormed(name)) bad('the name holds a lone surrogate (not UTF-8)', name);
    if (!t.shape.every((d) => isIndex(d))) bad(`shape [${shortList(t.shape)}] is not non-negative integers`, name);
    const count = elementCount(t.shape);
    if (count === null || t.data.length !== count) {
      return bad(`shape [${shortList(t.shape)}] needs ${count ?? 'too many'} values, got ${t.data.length}`, name);
    }
    const dtype = t.dtype ?? 'F32';
    const blob = dtype === 'F16'
      ? encodeF16(t.data, (i, v) => bad(`value ${v} at index ${i} is beyond F16's range (±65504)`, name))
      : encodeF32(t.data);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + blob.length}]}`);
    blobs.push(blob);
    offset += blob.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.length;
  }
  parseSafetensorsHeader(out, 'written file'); // the writer's output always passes the reader
  return out;
}

/** f32 values to little-endian bytes. */
function encodeF32(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(4 * data.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
  return out;
}
