// matvec: the one-row case of matmul.wgsl, C[0, n] = act(alpha · Σ_k A[0, k]·B[n, k] (+ bias[n]))
// (+ C[0, n] when p.accumulate), for n < N: a decode step's products (q, k, v, the output
// projection, the MLP, the logits), where a 16-row matmul tile would compute 15 rows of padding.
// Same bindings, parameters (matmul_params.wgsl, packed by src/kernels/matmul.ts) and epilogue as
// the matmul kernels; B is a PyTorch Linear weight [N, K] (TRANS_B), row n at offB + n·ldb.
//
// A workgroup of WG threads computes ROWS consecutive outputs. Thread t sums A[k]·B[n, k] over
// k = t, t + WG, … for each of its ROWS rows: consecutive threads read consecutive elements of a
// weight row (one contiguous run per row and step), and A[k] is read once for the ROWS rows. Each
// weight is read once in all. The WG partial sums of each row are then added in workgroup memory,
// a tree of log2(WG) steps, each behind a barrier (every thread reaches each: the loop bound is an
// override). Sums are f32 whatever the storage; C is rounded to its type once, at its store.
//
// Preconditions enforced by src/kernels/matvec.ts and matmul.ts: WG is a power of 2; every index
// fits a u32; the bindings fit maxStorageBufferBindingSize; the grid (groups of ROWS outputs,
// folded over x and y) fits maxComputeWorkgroupsPerDimension.

//#f16 enable f16;

alias elemA = f32; //#a16 alias elemA = f16;
alias elemB = f32; //#b16 alias elemB = f16;
alias elemBias = f32; //#bias16 alias elemBias = f16;
alias elemC = f32; //#c16 alias elemC = f16;

override WG: u32 = 64;
const ROWS: u32 = 8u; // mirrored by MATVEC_ROWS in src/kernels/matvec.ts

// The `vec4` flag reads A and B four elements at a time (the host sets it only when K, every row
// start and each binding are aligned to 4 elements: matmul.ts vec4Aligned), summing each word's
// four products with dot().
alias wordA = elemA; //#vec4 alias wordA = vec4<elemA>;
alias wordB = elemB; //#vec4 alias wordB = vec4<elemB>;
alias wordF = f32; //#vec4 alias wordF = vec4f;
const V: u32 = 1u; //#vec4 const V: u32 = 4u;
fn mul(x: f32, y: f32) -> f32 { return x * y; } //#vec4 fn mul(x: vec4f, y: vec4f) -> f32 { return dot(x, y); }

@group(0) @binding(0) var<storage, read> a: array<wordA>;
@group(0) @binding(1) var<storage, read> b: array<wordB>;
@group(0) @binding(2) var<storage, read> bias: array<elemBias>;
@group(0) @binding(3) var<storage, read_write> c: array<elemC>;
@group(0) @binding(4) var<uniform> p: Params;

// partial[r·WG + t]: thread t's sum for row r of the group, then the tree's.
var<workgroup> partial: array<f32, ROWS * WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let n0 = (wid.y * groups.x + wid.x) * ROWS;
  var acc = array<f32, ROWS>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  for (var k = t; k < p.K / V; k += WG) {
    let x = wordF(a[p.offA / V + k]);
    for (var r = 0u; r < ROWS; r++) {
      let n = n0 + r;
      if (n < p.N) { acc[r] += mul(x, wordF(b[(p.offB + n * p.ldb) / V + k])); }
    }
  }
  for (var r = 0u; r < ROWS; r++) { partial[r * WG + t] = acc[r]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) {
      for (var r = 0u; r < ROWS; r++) { partial[r * WG + t] += partial[r * WG + t + s]; }
    }
    workgroupBarrier();
  }
  if (t < ROWS && n0 + t < p.N) {
    let n = n0 + t;
    var y = p.alpha * partial[t * WG];
    if (p.hasBias != 0u) { y += f32(bias[p.offBias + n]); }
    y = activate(y);
    let at = p.offC + n;
    if (p.accumulate != 0u) { y += f32(c[at]); }
    c[at] = elemC(y);
  }
}
