// finite_check: records the first layer whose residual stream holds a NaN or ±Inf.
// Run after every layer on x [count]; costs one read of x, no host round trip: the host reads
// `first` once at the end. `first` starts at 0xffffffff (no non-finite value seen).
// The test is on the bits (exponent all ones), not `x != x`: WGSL lets compilers assume
// floats are finite, so comparisons may be folded away.
// Dispatch: ceil(count / WG) workgroups, folded into x and y when over the per-dimension limit.

override WG: u32 = 256;

struct Params {
  count: u32,
  layer: u32,    // written before each layer's submission
  groupsX: u32,  // workgroups along x, to unfold a 2D grid
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> first: atomic<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.groupsX + wid.x) * WG + lid;
  if (i >= p.count) { return; }
  if ((x[i] & 0x7f800000u) == 0x7f800000u) {
    atomicMin(&first, p.layer);
  }
}
