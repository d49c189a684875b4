// fill_random: out[i] = (uniform in [-1, 1) from hash(key, offset + i)) * scale, for i < count.
// The same integer steps as src/random.ts, so the CPU reference regenerates any element
// bit for bit. Weights are written in place on the GPU: no weight crosses the bus.
// Layout: out: array<f32> (the tensor, or a chunk of it starting at element `offset`).
// Dispatch: ceil(count / (WG·PER_THREAD)) workgroups, folded into x and y when over the
// per-dimension limit; each thread writes PER_THREAD elements WG apart (so adjacent threads write
// adjacent elements); threads past `count` do nothing (the host need not round the count). A CPU
// adapter pays a fixed cost per workgroup, so there the host asks for many elements a thread.
//
// f16 (the `f16` flag): out is array<u32>, two F16 values per word (element 2w in the low half,
// as little-endian memory has it), and thread w writes word w: ceil(count / 2) threads. The f32
// value is computed exactly as above, then rounded to F16 by f32ToF16Bits, the integer steps of
// src/io/half.ts f32BitsToF16Bits (WGSL's f16() conversion may round either way, the spec says),
// so the CPU regenerates every F16 bit. An odd count's last word keeps its high half (the next
// element, not this fill's): that one word is read, merged and written back by the one thread
// that owns it. No `enable f16` is needed: the shader never declares an f16 value.

override WG: u32 = 256;
override PER_THREAD: u32 = 1;
const F16 = false; //#f16 const F16 = true;

struct Params {
  key: u32,
  offset: u32,   // index of out[0] within the whole tensor
  count: u32,
  scale: f32,
  groupsX: u32,  // workgroups along x, to unfold a 2D grid
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>; //#f16 @group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

fn hash32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn value(i: u32) -> f32 {
  let h = hash32((p.offset + i) * 0x9e3779b1u + p.key);
  let unit = f32(h >> 8u) * exp2(-23.0) - 1.0;
  return unit * p.scale;
}

// f32 bits to F16 bits, round to nearest even; NaN stays a quiet NaN, overflow gives ±Inf, tiny
// values round into F16's subnormals or to ±0. Step for step src/io/half.ts f32BitsToF16Bits.
fn f32ToF16Bits(bits: u32) -> u32 {
  let sign = (bits >> 16u) & 0x8000u;
  let exp = (bits >> 23u) & 0xffu;
  let man = bits & 0x7fffffu;
  if (exp == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, man != 0u); }
  let e = i32(exp) - 127 + 15; // F16's biased exponent
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    let m = man | 0x800000u;
    let shift = u32(14 - e); // 14..24
    let kept = m >> shift;
    let rest = m & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    let up = select(0u, 1u, rest > half || (rest == half && (kept & 1u) == 1u));
    return sign | (kept + up); // a carry into bit 10 makes the smallest normal
  }
  let kept = man >> 13u;
  let rest = man & 0x1fffu;
  let up = select(0u, 1u, rest > 0x1000u || (rest == 0x1000u && (kept & 1u) == 1u));
  return sign | ((u32(e) << 10u) + kept + up); // a carry rounds into the exponent (up to Inf)
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let first = (wid.y * p.groupsX + wid.x) * WG * PER_THREAD + lid;
  for (var r = 0u; r < PER_THREAD; r++) { fillOne(first + r * WG); }
}

// Element i (f32), or word i holding elements 2i and 2i + 1 (f16).
fn fillOne(i: u32) {
  if (F16) {
    let at = 2u * i;
    if (at >= p.count) { return; }
    let lo = f32ToF16Bits(bitcast<u32>(value(at)));
    var word = 0u;
    if (at + 1u < p.count) {
      word = lo | (f32ToF16Bits(bitcast<u32>(value(at + 1u))) << 16u);
    } else {
      word = (bitcast<u32>(out[i]) & 0xffff0000u) | lo; // the tail: keep the neighbour's half
    }
    out[i] = bitcast<f32>(word); //#f16 out[i] = word;
    return;
  }
  if (i >= p.count) { return; }
  out[i] = value(i); //#f16 out[i] = 0u;
}
