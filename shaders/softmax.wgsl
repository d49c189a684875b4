// softmax: each row of the attention scores becomes a probability distribution, in place.
//
// scores: [rows, cols] (rows = heads · seq query rows, cols = keys), row stride cols.
// Causal mask: in row r the query index is i = r % seq; key j > i + causalOffset is set to
// −∞ before the exponential, i.e. written as exactly 0, and its score is never read (the
// matmul may have skipped it). Numerically stable: the row maximum is subtracted first.
// A row with no visible key (cannot occur with causalOffset >= 0, but guarded) is written as
// zeros rather than NaN.
//
// One workgroup per row; WG threads stride over the columns. Grid: rows folded into x and y.
// Reductions: shaders/reduce.wgsl (appended by the host): subgroup reductions where the adapter
// has them (no workgroup memory at all where the workgroup is one subgroup), else a tree.
//
// f16 (the `f16` flag): the scores are stored as f16, read widened to f32 (exactly); the max,
// the exponentials and the sum are f32, and each probability is rounded to f16 once, at its store.

//#subgroups enable subgroups;
//#f16 enable f16;

override WG: u32 = 256;
alias elem = f32; //#f16 alias elem = f16;

struct Params {
  rows: u32,
  cols: u32,
  seq: u32,
  causal: u32,
  causalOffset: u32,
  groupsX: u32,
  offset: u32,   // element offset of row 0 in the binding
}

@group(0) @binding(0) var<storage, read_write> s: array<elem>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, t: ThreadIds) { // ThreadIds: shaders/reduce.wgsl
  let li = t.li;
  let row = wid.y * p.groupsX + wid.x;
  // The whole workgroup shares `row`, so this early exit keeps the barriers uniform.
  if (row >= p.rows) { return; }
  let base = p.offset + row * p.cols;
  var visible = p.cols;
  if (p.causal != 0u) { visible = min(p.cols, row % p.seq + p.causalOffset + 1u); }

  var m = -0x1.fffffep+127f; // lowest finite f32: -inf is not a WGSL literal
  for (var j = li; j < visible; j += WG) { m = max(m, f32(s[base + j])); }
  m = reduce(MAX, t, m);

  var sum = 0.0;
  for (var j = li; j < visible; j += WG) { sum += exp(f32(s[base + j]) - m); }
  sum = reduce(SUM, t, sum);

  var inv = 0.0;
  if (sum > 0.0) { inv = 1.0 / sum; }
  for (var j = li; j < p.cols; j += WG) {
    var v = 0.0;
    if (j < visible) { v = exp(f32(s[base + j]) - m) * inv; }
    s[base + j] = elem(v);
  }
}
