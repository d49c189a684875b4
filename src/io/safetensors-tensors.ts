// Tensors out of safetensors bytes: the header entry of a tensor checked for dtype and shape, its bytes decoded
// (little-endian), its values checked finite. The writer is ./safetensors-write.ts, the layout's tensor names
// ./weight-names.ts.

import { escapeUntrusted } from './escape.js';
import { fail, quoteName, LITTLE_ENDIAN, sameShape, shortList, type ParsedSafetensors, type TensorInfo } from './safetensors-core.js';
import { decodeHalf } from './half.js';

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
