// matmul: C = alpha · A · op(B) (+ bias[col]) (+ C when ACCUMULATE), for a batch of matrices.
//
// A: [M, K], row stride lda.   B: [K, N], row stride ldb; with TRANS_B, [N, K] (PyTorch's
// Linear weight layout, and K for Q·Kᵀ).   C: [M, N], row stride ldc.
// Batch b = workgroup_id.z shifts A, B and C by batchA/B/C elements: one dispatch covers all
// heads of a [seq, heads·dHead] matrix (batch stride dHead) or of the [heads, seq, ctx] pattern.
//
// Tiles: each workgroup computes a TM × TN block of C (TM = WG_Y·RM, TN = WG_X·RN); each thread
// an RM × RN register block whose rows are WG_Y apart and columns WG_X apart, so the workgroup
// tiles are read conflict-free and C is written coalesced along a row. K advances TK at a time
// through workgroup tiles stored k-major. Any M, N, K: loads past the edge read 0, writes past it
// are dropped.
//
// Causal attention (mode in `causal`; key j is visible to query i when j <= i + causalOffset):
//   1 (scores, Q·Kᵀ): a tile whose first column is past the last row's limit is wholly masked;
//     it is skipped and nothing is written there (softmax never reads masked scores).
//   2 (weighted sums, pattern·V): the pattern is 0 past the limit, so K stops at the last
//     row's limit. The result is the same; the work above the diagonal is not done.
//
// Preconditions enforced by src/kernels/matmul.ts: every index fits a u32; the bindings fit
// maxStorageBufferBindingSize; the grid fits maxComputeWorkgroupsPerDimension.

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TK: u32 = 16;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
override HAS_BIAS: bool = false;

// Register block: function-scope arrays cannot be override-sized, so this is a preprocessor flag.
const RM: u32 = 4u; //#rb8 const RM: u32 = 8u;
const RN: u32 = 4u; //#rb8 const RN: u32 = 8u;

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32,
  batchA: u32, batchB: u32, batchC: u32,
  alpha: f32,
  causal: u32,
  causalOffset: u32,
  offBias: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> tileA: array<f32, TK * WG_Y * RM>; // [TK][TM]
var<workgroup> tileB: array<f32, TK * WG_X * RN>; // [TK][TN]

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let tm = WG_Y * RM;
  let tn = WG_X * RN;
  let threads = WG_X * WG_Y;
  let row0 = wid.y * tm;
  let col0 = wid.x * tn;
  let lastRow = min(row0 + tm, p.M) - 1u;
  if (p.causal == 1u && col0 > lastRow + p.causalOffset) { return; }
  var kEnd = p.K;
  if (p.causal == 2u) { kEnd = min(p.K, lastRow + p.causalOffset + 1u); }

  let baseA = p.offA + wid.z * p.batchA;
  let baseB = p.offB + wid.z * p.batchB;
  let baseC = p.offC + wid.z * p.batchC;

  var acc: array<array<f32, RN>, RM>;
  var ra: array<f32, RM>;
  var rb: array<f32, RN>;

  for (var k0 = 0u; k0 < kEnd; k0 += TK) {
    // Consecutive threads walk along K (contiguous in A and in a transposed B) for coalescing.
    for (var l = li; l < TK * tm; l += threads) {
      let m = l / TK;
      let k = l % TK;
      let gr = row0 + m;
      let gk = k0 + k;
      var v = 0.0;
      if (gr < p.M && gk < kEnd) { v = a[baseA + gr * p.lda + gk]; }
      tileA[k * tm + m] = v;
    }
    for (var l = li; l < TK * tn; l += threads) {
      var n: u32;
      var k: u32;
      if (TRANS_B) { n = l / TK; k = l % TK; } else { k = l / tn; n = l % tn; }
      let gc = col0 + n;
      let gk = k0 + k;
      var v = 0.0;
      if (gc < p.N && gk < kEnd) {
        if (TRANS_B) { v = b[baseB + gc * p.ldb + gk]; } else { v = b[baseB + gk * p.ldb + gc]; }
      }
      tileB[k * tn + n] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      for (var r = 0u; r < RM; r++) { ra[r] = tileA[k * tm + lid.y + r * WG_Y]; }
      for (var s = 0u; s < RN; s++) { rb[s] = tileB[k * tn + lid.x + s * WG_X]; }
      for (var r = 0u; r < RM; r++) {
        for (var s = 0u; s < RN; s++) { acc[r][s] = fma(ra[r], rb[s], acc[r][s]); }
      }
    }
    // The next iteration overwrites the tiles: wait until every thread has read them.
    workgroupBarrier();
  }

  for (var r = 0u; r < RM; r++) {
    let row = row0 + lid.y + r * WG_Y;
    if (row >= p.M) { continue; }
    for (var s = 0u; s < RN; s++) {
      let col = col0 + lid.x + s * WG_X;
      if (col >= p.N) { continue; }
      var v = p.alpha * acc[r][s];
      if (HAS_BIAS) { v += bias[p.offBias + col]; }
      let at = baseC + row * p.ldc + col;
      if (ACCUMULATE) { v += c[at]; }
      c[at] = v;
    }
  }
}
