// layernorm: GPT-3's pre-LayerNorm, out of place, for each row r of x [rows, dModel]:
//   y[r, j] = (x[r, j] − mean_r) / sqrt(var_r + eps) · gain[j] + bias[j]
// with var_r the biased (1/dModel) variance, as PyTorch's LayerNorm. Statistics in f32.
//
// Numerics. Two passes: the mean, then Σ(x − mean)². The one-pass E[x²] − mean² cancels
// catastrophically when |mean| ≫ std (a deep residual stream has |x| in the hundreds and a
// row std near 1: Σx² ≈ 1e9 leaves no bits for a variance of 1). The mean itself is summed
// shifted by the row's first element K: Σ(x − K) has terms of the size of the spread, not of
// |mean|, so its rounding error scales with std rather than |mean|, and the mean is then
// K + Σ(x − K)/n, off by about one rounding of |mean|. A constant row gives x − K = 0 exactly,
// hence mean = K, x − mean = 0 and y = bias exactly (no NaN: eps > 0 keeps 1/sqrt finite).
// An outlier K only degrades the mean to the unshifted sum's accuracy.
//
// Memory. One workgroup per row; WG threads stride over the row, and each pass re-reads x
// from global memory (three reads, one write per element). The row is not held: a 12288-wide
// row is 48 KiB, over WebGPU's default 16 KiB of workgroup memory, and function-scope arrays
// cannot be sized by an override. The re-reads of a row the workgroup just read are cache
// hits on a GPU (and plain memory reads on a software adapter), so the kernel stays bound by
// one pass over x and y; and any dModel runs.
//
// Reductions: shaders/reduce.wgsl (appended by the host), as softmax.wgsl's. Grid: rows folded
// into x and y.
//
// f16 (the `f16` flag): y is stored as f16, one conversion of the f32 result per element; x,
// gain and bias stay f32 and the statistics are computed in f32 exactly as above.

//#subgroups enable subgroups;
//#f16 enable f16;

override WG: u32 = 256;
alias yt = f32; //#f16 alias yt = f16;

struct Params {
  rows: u32,
  dModel: u32,
  groupsX: u32,
  gainOffset: u32, // element offsets of gain[0] and bias[0] in `gb`
  biasOffset: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<yt>;
@group(0) @binding(2) var<storage, read> gb: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, t: ThreadIds) { // ThreadIds: shaders/reduce.wgsl
  let li = t.li;
  let row = wid.y * p.groupsX + wid.x;
  // The whole workgroup shares `row`, so this early exit keeps the barriers uniform.
  if (row >= p.rows) { return; }
  let n = p.dModel;
  let base = row * n;

  let shift = x[base];
  var s = 0.0;
  for (var j = li; j < n; j += WG) { s += x[base + j] - shift; }
  let mean = shift + reduce(SUM, t, s) / f32(n);

  var q = 0.0;
  for (var j = li; j < n; j += WG) {
    let d = x[base + j] - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(reduce(SUM, t, q) / f32(n) + p.eps);

  for (var j = li; j < n; j += WG) {
    y[base + j] = yt((x[base + j] - mean) * rstd * gb[p.gainOffset + j] + gb[p.biasOffset + j]);
  }
}
