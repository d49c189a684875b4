// What both matmul kernels (matmul.wgsl, matmul_shuffle.wgsl) share: the parameters, packed by
// src/kernels/matmul.ts in this order, and what a C tile derives from them the same way in either.
// WGSL has no include, so the host appends this file to the kernel's (after its `enable` lines).
// The kernel declares `p` (binding 4) with this struct.

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32,
  batchA: u32, batchB: u32, batchC: u32,
  alpha: f32,
  causal: u32,
  causalOffset: u32,
  offBias: u32,
  accumulate: u32,  // 1: C += result (the residual stream); 0: C = result
  hasBias: u32,     // 1: + bias[offBias + col]
}

// Causal attention (mode in `causal`; key j is visible to query i when j <= i + causalOffset):
//   1 (scores, Q·Kᵀ): a tile whose first column is past its last row's limit is wholly masked;
//     it is skipped and nothing is written there (softmax never reads masked scores).
//   2 (weighted sums, pattern·V): the pattern is 0 past the limit, so K stops at the last row's
//     limit. The result is the same; the work above the diagonal is not done.
struct TileK { masked: bool, kEnd: u32 }

// The K range of the C tile of `rows` rows from row0 and columns from col0.
fn tileK(row0: u32, rows: u32, col0: u32) -> TileK {
  let lastRow = min(row0 + rows, p.M) - 1u;
  var kEnd = p.K;
  if (p.causal == 2u) { kEnd = min(p.K, lastRow + p.causalOffset + 1u); }
  return TileK(p.causal == 1u && col0 > lastRow + p.causalOffset, kEnd);
}

// The epilogue's activation, applied to alpha·A·op(B) + bias before C is stored or added to:
// 0 none, 1 gelu_new (GPT-2's tanh form), 2 relu. An override, so a kernel without one (every
// product but the MLP's first) compiles to a plain store. Set by matmul.ts (MatmulCall.activation).
override ACT: u32 = 0u;

fn activate(x: f32) -> f32 {
  if (ACT == 1u) {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). tanh(±10) rounds to ±1 in f32, so clamping its
    // argument changes nothing and keeps a sinh/cosh-based tanh from overflowing (x³ → ±Inf
    // clamps too).
    let y = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -10.0, 10.0);
    return 0.5 * x * (1.0 + tanh(y));
  }
  // ReLU that keeps a NaN (PyTorch's does): NaN < 0 is false.
  if (ACT == 2u) { return select(x, 0.0, x < 0.0); }
  return x;
}

// Where batch entry z of A, B and C starts (x, y, z).
fn batchBases(z: u32) -> vec3u {
  return vec3u(p.offA + z * p.batchA, p.offB + z * p.batchB, p.offC + z * p.batchC);
}
