// Half-precision numbers, exactly: IEEE binary16 (F16) and bfloat16 (BF16) bits to numbers and
// back. Widening (F16 or BF16 to f32) is exact; narrowing to F16 rounds to nearest, ties to
// even, the same integer steps as shaders/fill_random.wgsl's f16 path, so seeded f16 weights are
// bit-identical on the GPU and in the CPU reference. Pure TypeScript (browser, worker, Node).

/** F16's largest finite value, and the unit roundoff of its 11-bit significand. */
export const F16_MAX = 65504;
export const F16_UNIT = 2 ** -11;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The F16 bit pattern nearest to `x` (first rounded to f32), ties to even; ±Inf past F16_MAX. */
export function f16Bits(x: number): number {
  f32[0] = x;
  return f32BitsToF16Bits(u32[0]!);
}

/**
 * f32 bits to F16 bits, round to nearest even: the integer steps the WGSL fill kernel repeats.
 * NaN stays NaN (quiet), values past F16_MAX (after rounding) become ±Inf, f32 subnormals and
 * tiny normals round into F16's subnormals or to ±0.
 */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const man = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0); // Inf or NaN
  const e = exp - 127 + 15; // F16's biased exponent
  if (e >= 31) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // Subnormal in F16 (or zero): shift the implicit bit in, round the dropped bits.
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const m = man | 0x800000;
    const shift = 14 - e; // 14..24
    const kept = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    const up = rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0;
    return sign | (kept + up); // a carry into bit 10 makes the smallest normal, as it should
  }
  const kept = man >>> 13;
  const rest = man & 0x1fff;
  const up = rest > 0x1000 || (rest === 0x1000 && (kept & 1) === 1) ? 1 : 0;
  return sign | ((e << 10) + kept + up); // a carry rounds into the exponent (up to Inf)
}

/** The number an F16 bit pattern holds (exact). */
export function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? Number.NaN : sign * Infinity;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

/** The number a BF16 bit pattern holds (exact: the high half of an f32). */
export function bf16ToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** `x` rounded to the nearest F16 value (as a number), ties to even. */
export const roundToF16 = (x: number): number => f16ToNumber(f16Bits(x));

/** Every value rounded to F16, in a new Float32Array (exact: every F16 value is an f32). */
export function roundArrayToF16(a: ArrayLike<number>): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = roundToF16(a[i]!);
  return out;
}

/** Little-endian F16 or BF16 bytes widened to a Float32Array, exactly. */
export function decodeHalf(raw: Uint8Array, dtype: 'F16' | 'BF16'): Float32Array {
  const n = raw.length >>> 1;
  const out = new Float32Array(n);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const widen = dtype === 'F16' ? f16ToNumber : bf16ToNumber;
  for (let i = 0; i < n; i++) out[i] = widen(view.getUint16(2 * i, true));
  return out;
}

/**
 * Values to little-endian F16 bytes. A finite value that rounds past F16_MAX is refused (the
 * caller names the tensor): narrowing must not turn a number into infinity silently.
 */
export function encodeF16(data: ArrayLike<number>, onOverflow: (index: number, value: number) => never): Uint8Array {
  const out = new Uint8Array(2 * data.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const h = f16Bits(data[i]!);
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) === 0 && Number.isFinite(data[i]!)) onOverflow(i, data[i]!);
    view.setUint16(2 * i, h, true);
  }
  return out;
}
