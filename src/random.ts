// Counter-based generator shared by the CPU and the GPU (shaders/fill_random.wgsl does the
// same integer steps): value(seed, stream, i) depends only on its arguments, so the GPU can
// fill a weight buffer in place and the CPU reference can regenerate any single element.
// Every step is exact in both f32 (WGSL) and float64 (JS) until the final scale, which is
// one correctly rounded f32 multiply on both sides: the values are bit-identical.

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
