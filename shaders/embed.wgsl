// embed: the chapter's first step, x = token embedding + learned position, for each token i and
// dimension d:
//   x[i, d] = table[(tokens[i] − rowStart)·dModel + d] + positions[posBase + i·dModel + d]
// for the tokens whose id lies in this dispatch's rows [rowStart, rowStart + rowCount) of the
// token table; the others are left as they are. A table over one storage binding is bound in
// row chunks, one dispatch per chunk (src/kernels/embed.ts), so each element of x is written by
// exactly one dispatch. posBase places position 0 (+ the model's positionOffset) within the
// position binding, which starts on an aligned row at or before it.
//
// One thread per element of x; the grid folded into x and y. Tables stored f32 or, with the f16
// flag, f16 (widened exactly); the sum is one f32 add, stored into the f32 residual stream.
// Preconditions (embed.ts): every id < the table's rows (Engine.plan refuses others), the
// bindings hold what the parameters address.

//#f16 enable f16;

override WG: u32 = 256;
alias elem = f32; //#f16 alias elem = f16;

struct Params {
  seq: u32,
  dModel: u32,
  rowStart: u32,
  rowCount: u32,
  posBase: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> tokens: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<elem>;
@group(0) @binding(2) var<storage, read> positions: array<elem>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let n = (wid.y * p.groupsX + wid.x) * WG + li;
  if (n >= p.seq * p.dModel) { return; }
  let i = n / p.dModel;
  let d = n % p.dModel;
  let t = tokens[i];
  // t − rowStart wraps for t < rowStart, so one comparison tests both ends.
  let r = t - p.rowStart;
  if (r >= p.rowCount) { return; }
  x[n] = f32(table[r * p.dModel + d]) + f32(positions[p.posBase + n]);
}
