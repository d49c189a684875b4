// fill_random: out[i] = (uniform in [-1, 1) from hash(key, offset + i)) * scale, for i < count.
// The same integer steps as src/model/seeded.ts, so the CPU reference regenerates any element
// bit for bit. Weights are written in place on the GPU: no weight crosses the bus.
// Layout: out: array<f32> (the tensor, or a chunk of it starting at element `offset`).
// Dispatch: ceil(count / WG) workgroups, folded into x and y when over the per-dimension limit;
// threads past `count` do nothing (the host need not round the count).

override WG: u32 = 256;

struct Params {
  key: u32,
  offset: u32,   // index of out[0] within the whole tensor
  count: u32,
  scale: f32,
  groupsX: u32,  // workgroups along x, to unfold a 2D grid
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.groupsX + wid.x) * WG + lid;
  if (i >= p.count) { return; }
  let h = hash32((p.offset + i) * 0x9e3779b1u + p.key);
  let unit = f32(h >> 8u) * exp2(-23.0) - 1.0;
  out[i] = unit * p.scale;
}
