// reduce: the workgroup reduction softmax.wgsl and layernorm.wgsl share. WGSL has no include,
// so the host appends this file to theirs (src/kernels/reduce.ts); the `subgroups` flag and the
// WG override are the including kernel's (it also holds the `enable subgroups;` line, which must
// come first in a module).
//
// With the `subgroups` flag (the adapter has the feature) each subgroup reduces in registers and
// one value per subgroup crosses workgroup memory, which every thread then reads: two barriers
// per reduction instead of log2(WG) + 2, and barriers are what a software adapter pays most for.
// Where the whole workgroup is one subgroup (ONE_SUBGROUP, set by the host when WG is at most the
// adapter's smallest subgroup: lavapipe's 8 lanes), the subgroup's own result is the workgroup's
// and nothing crosses workgroup memory: no barrier at all. Without subgroups, a tree in workgroup
// memory (WG a power of two), so every adapter runs the kernels.

const USE_SUBGROUPS = false; //#subgroups const USE_SUBGROUPS = true;
override ONE_SUBGROUP: bool = false;

var<workgroup> partial: array<f32, WG>;

// An entry-point parameter of a kernel that reduces: the thread's index in its workgroup and, with
// subgroups, the subgroup ids reduce() needs (declared here, so every such kernel takes the same
// ones). Not the workgroup id: a struct is as non-uniform as its least uniform member, and a row
// derived from it would make reduce()'s barriers non-uniform.
struct ThreadIds {
  @builtin(local_invocation_index) li: u32,
  //#subgroups @builtin(subgroup_invocation_id) sgi: u32,
  //#subgroups @builtin(subgroup_size) sgs: u32,
}

const MAX = 0u;
const SUM = 1u;

fn combine(op: u32, x: f32, y: f32) -> f32 {
  return select(x + y, max(x, y), op == MAX);
}

// MAX or SUM of every thread's v, returned to all of them. Called by every thread of the workgroup.
fn reduce(op: u32, t: ThreadIds, v: f32) -> f32 {
  let li = t.li;
  if (USE_SUBGROUPS) {
    var sg = vec2u(0u, 1u); // (invocation id, size) of the thread's subgroup
    //#subgroups sg = vec2u(t.sgi, t.sgs);
    var x = v;
    //#subgroups if (op == MAX) { x = subgroupMax(v); } else { x = subgroupAdd(v); }
    if (ONE_SUBGROUP) { return x; }
    if (sg.x == 0u) { partial[li / sg.y] = x; }
    workgroupBarrier();
    var r = partial[0];
    for (var i = 1u; i < (WG + sg.y - 1u) / sg.y; i++) { r = combine(op, r, partial[i]); }
    // Everyone must read the partials before the next reduction reuses the array.
    workgroupBarrier();
    return r;
  }
  partial[li] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (li < stride) { partial[li] = combine(op, partial[li], partial[li + stride]); }
    workgroupBarrier();
  }
  let result = partial[0];
  workgroupBarrier();
  return result;
}
