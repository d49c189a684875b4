// Tensors in and out of safetensors bytes: the header entry of a tensor checked for dtype and
// shape, its bytes decoded (little-endian), and the writer.

import { escapeUntrusted } from './escape.js';
import { fail, quoteName, LITTLE_ENDIAN, METADATA_KEY, elementCount, isIndex, isWellFormed, sameShape, shortList, type ParsedSafetensors, type TensorInfo } from './safetensors-core.js';
import { parseSafetensorsHeader } from './safetensors-parse.js';
import { decodeHalf, encodeF16 } from './half.js';

/** The float dtypes read as f32: F16 and BF16 widen exactly (every value is an f32). */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

/** The header entry of a float tensor read as f32 (F32, F16 or BF16), checked for presence, dtype and shape (no data read). */
export function f32TensorInfo(parsed: ParsedSafetensors, name: string, expectedShape?: number[], what = 'file'): TensorInfo {
  const info = parsed.tensors.get(name);
  if (!info) {
    const names = [...parsed.tensors.keys()];
    const shown = names.slice(0, 4).map((s) => `'${escapeUntrusted(s, 40)}'`).join(', ');
    const more = names.length > 4 ? `, … (${names.length} in all)` : '';
    fail(what, 'missing-tensor', `no tensor ${quoteName(name)}; it has ${names.length ? shown + more : 'no tensors'}`);
  }
  if (!(FLOAT_DTYPES as readonly string[]).includes(info.dtype)) {
    fail(what, 'tensor-dtype', `tensor ${quoteName(name)} has dtype ${info.dtype}, expected F32, F16 or BF16`, name, true);
  }
  if (expectedShape && !sameShape(info.shape, expectedShape)) {
    fail(what, 'tensor-shape', `tensor ${quoteName(name)} has shape [${shortList(info.shape)}], expected [${expectedShape.join(', ')}]`, name, true);
  }
  return info;
}

/** The raw bytes of one tensor (any dtype), a view into `bytes`. */
export function tensorBytes(bytes: Uint8Array, parsed: ParsedSafetensors, name: string, what = 'file'): Uint8Array {
  const info = parsed.tensors.get(name);
  if (!info) fail(what, 'missing-tensor', `no tensor ${quoteName(name)}`);
  if (info.end > bytes.length) {
    fail(what, 'truncated', `tensor ${quoteName(name)} ends at byte ${info.end} but only ${bytes.length} bytes were given`, name, true);
  }
  return bytes.subarray(info.begin, info.end);
}

/**
 * One float tensor (F32, or F16 / BF16 widened exactly) as an aligned Float32Array copy (the data
 * in the file may sit at any byte offset), checked for dtype, shape and finite values.
 */
export function getF32(
  bytes: Uint8Array,
  parsed: ParsedSafetensors,
  name: string,
  expectedShape?: number[],
  what = 'file',
): Float32Array {
  const info = f32TensorInfo(parsed, name, expectedShape, what);
  const out = decodeFloat(tensorBytes(bytes, parsed, name, what), info.dtype as FloatDtype);
  assertFinite(name, out, what);
  return out;
}

/** Little-endian F32, F16 or BF16 bytes to a fresh, aligned Float32Array (exact). */
export function decodeFloat(raw: Uint8Array, dtype: FloatDtype): Float32Array {
  return dtype === 'F32' ? decodeF32(raw) : decodeHalf(raw, dtype);
}

/** Little-endian f32 bytes to a fresh, aligned Float32Array. */
export function decodeF32(raw: Uint8Array): Float32Array {
  const out = new Float32Array(raw.length >>> 2);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(raw.subarray(0, out.length * 4));
  } else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/** Throws naming the tensor and the first NaN/Inf: a poisoned weight would spoil every comparison. */
export function assertFinite(name: string, data: ArrayLike<number>, what = 'file'): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) fail(what, 'non-finite', `tensor ${quoteName(name)} has a non-finite value ${v} at index ${i}`, name, true);
  }
}

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

/** Tensor names of the model's layout (PyTorch Linear: weight [out, in], bias [out]). */
export const weightName = (layer: number, proj: 'q' | 'k' | 'v' | 'o', kind: 'weight' | 'bias' = 'weight'): string =>
  `layers.${layer}.self_attn.${proj}_proj.${kind}`;

/** The pre-attention LayerNorm of a layer: weight (gain) and bias, each [d_model]. */
export const layerNormName = (layer: number, kind: 'weight' | 'bias'): string => `layers.${layer}.input_layernorm.${kind}`;
