// Seeded weight rows regenerated for Freivalds' weight pass, fast: the generator of
// src/model/seeded.ts inlined (151 M weights per GPT-3 matrix), bit-identical to it, and its f16
// rounding as the GPU's f16 fill stores them.

import { roundToF16 } from '../io/half.js';

const GOLDEN = 0x9e3779b1 | 0;
const GOLDEN2 = Math.imul(GOLDEN, 2);
const M1 = 0x7feb352d | 0;
const M2 = 0x846ca68b | 0;
const TWO_M23 = 2 ** -23;

/**
 * out[c] = seededValue(key, offset + c, scale) for c < count, bit for bit, returning Σ out[c]².
 * Inlined, two elements per iteration and the index product kept as a running sum: about
 * twice as fast as calling seededValue, which matters at 151 M weights per matrix.
 * Bit-identity: the hash steps act on the same 32 bits (int32 instead of uint32 view), and
 * ((h>>>8) − 2²³)·s·2⁻²³ equals ((h>>>8)·2⁻²³ − 1)·s exactly (a 24-bit by 24-bit product
 * is exact in float64), so the single fround rounds the same real number.
 */
export function seededRow(key: number, scale: number, offset: number, out: Float64Array, count: number): number {
  const s = Math.fround(scale);
  let m = (Math.imul(offset >>> 0, GOLDEN) + (key | 0)) | 0;
  let f0 = 0;
  let f1 = 0;
  let c = 0;
  for (; c + 1 < count; c += 2) {
    let x = m;
    let y = (m + GOLDEN) | 0;
    m = (m + GOLDEN2) | 0;
    x ^= x >>> 16;
    y ^= y >>> 16;
    x = Math.imul(x, M1);
    y = Math.imul(y, M1);
    x ^= x >>> 15;
    y ^= y >>> 15;
    x = Math.imul(x, M2);
    y = Math.imul(y, M2);
    x ^= x >>> 16;
    y ^= y >>> 16;
    const a = Math.fround(((x >>> 8) - 8388608) * s * TWO_M23);
    const b = Math.fround(((y >>> 8) - 8388608) * s * TWO_M23);
    out[c] = a;
    out[c + 1] = b;
    f0 += a * a;
    f1 += b * b;
  }
  if (c < count) {
    let x = m;
    x ^= x >>> 16;
    x = Math.imul(x, M1);
    x ^= x >>> 15;
    x = Math.imul(x, M2);
    x ^= x >>> 16;
    const a = Math.fround(((x >>> 8) - 8388608) * s * TWO_M23);
    out[c] = a;
    f0 += a * a;
  }
  return f0 + f1;
}

/** seededRow rounded to f16, as the GPU's f16 fill stores the weights (src/io/half.ts). */
export function seededRowF16(key: number, scale: number, offset: number, out: Float64Array, count: number): number {
  seededRow(key, scale, offset, out, count);
  let f = 0;
  for (let c = 0; c < count; c++) {
    out[c] = roundToF16(out[c]!);
    f += out[c]! * out[c]!;
  }
  return f;
}

