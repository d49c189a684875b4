// Counter-based generator shared by the CPU and the GPU (shaders/fill_random.wgsl does the
// same integer steps): value(seed, stream, i) depends only on its arguments, so the GPU can
// fill a weight buffer in place and the CPU reference can regenerate any single element.
// Every step is exact in both f32 (WGSL) and float64 (JS) until the final scale, which is
// one correctly rounded f32 multiply on both sides: the values are bit-identical.

import { roundToF16 } from './io/half.js';

/** lowbias32 by Chris Wellons: a well-mixed 32-bit integer hash. */
export function hash32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** Key of one tensor's stream: mixes the seed and the stream number. */
export function streamKey(seed: number, stream: number): number {
  return hash32((hash32(seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b9)) >>> 0);
}

/** Uniform in [-1, 1) times scale (rounded to f32), for element i of a stream. */
export function seededValue(key: number, i: number, scale: number): number {
  const h = hash32((Math.imul(i >>> 0, 0x9e3779b1) + key) >>> 0);
  const unit = (h >>> 8) * 2 ** -23 - 1; // exact: 24-bit integer times a power of two, minus 1
  return Math.fround(unit * Math.fround(scale));
}

export function seededArray(key: number, count: number, scale: number, offset = 0): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = seededValue(key, offset + i, scale);
  return out;
}

// Seeded rows regenerated fast for the sampled checks' weight passes (Freivalds; the MLP's columns): the generator
// above inlined (151 M weights per GPT-3 matrix), bit-identical to it, and its f16 rounding as the GPU's f16 fill
// stores them.

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

