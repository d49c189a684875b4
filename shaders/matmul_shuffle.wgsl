// matmul, subgroup variant: C = act(alpha · A · op(B) (+ bias[col])) (+ C when p.accumulate), for a
// batch of matrices. Same call, parameters and bindings as matmul.wgsl (see its header for the
// layouts, the batch along workgroup_id.z, the causal modes and the storage precisions); the
// host picks one or the other by the tile config (src/kernels/matmul-tiles.ts).
//
// Why a second kernel: on a CPU adapter (lavapipe) a workgroup's invocations are the lanes of
// SIMD registers, and every load whose address differs between lanes, from workgroup memory as
// from a buffer, is a gather: matmul.wgsl's tiles cost more in gathers, scatters and barriers
// than in FMAs (measured against the FMA probe: bench/RESULTS.md). Here a workgroup is one subgroup
// of S = 8 threads and shares nothing through memory: lane l owns columns col0 + l + S·j
// (j < RN) of a RM-row tile, reads them from B itself, and reads A's rows for K steps k0 + l;
// subgroupShuffle then hands each lane's A value to all lanes, one register operation instead of
// a load per FMA group. Per K step a lane does RN loads of B, RM/S loads of A, RM shuffles and
// RM·RN FMAs; no barrier, no workgroup storage.
//
// Preconditions enforced by src/kernels/matmul-tiles.ts (tileProblem): the adapter has the
// subgroups feature and its subgroups are at least S wide, so the S invocations of a workgroup
// form one subgroup with ids 0..S-1; plus those of matmul.wgsl (indices fit a u32, bindings fit).
// Loads past M or N are clamped into the matrix (A's values replaced by 0; B's columns past N
// feed only sums never stored), K is walked only to its end, so no read leaves the binding and
// no 0·Inf enters a stored sum.

enable subgroups;
//#f16 enable f16;
// Every invocation runs every shuffle: the K loop's bounds are per workgroup (uniform), and the
// edge checks select values instead of skipping the shuffles.
diagnostic(off, subgroup_uniformity);

alias elemA = f32; //#a16 alias elemA = f16;
alias elemB = f32; //#b16 alias elemB = f16;
alias elemBias = f32; //#bias16 alias elemBias = f16;
alias elemC = f32; //#c16 alias elemC = f16;

override TRANS_B: bool = false;

const S: u32 = 8u;   // lanes of a workgroup: one subgroup
const RM: u32 = 16u; // rows of the C tile (registers per lane: RM·RN sums, RM staged A values)
const RN: u32 = 2u;  // columns per lane; the tile is S·RN wide

// Params, tileK and batchBases: shaders/matmul_params.wgsl, appended by the host.

@group(0) @binding(0) var<storage, read> a: array<elemA>;
@group(0) @binding(1) var<storage, read> b: array<elemB>;
@group(0) @binding(2) var<storage, read> bias: array<elemBias>;
@group(0) @binding(3) var<storage, read_write> c: array<elemC>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(S)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let row0 = wid.y * RM;
  let col0 = wid.x * (S * RN);
  // Causal modes (matmul_params.wgsl): a wholly masked score tile is skipped, weighted sums stop
  // K at the diagonal.
  let range = tileK(row0, RM, col0);
  if (range.masked) { return; }
  let kEnd = range.kEnd;
  let bases = batchBases(wid.z);
  let baseA = bases.x;
  let baseB = bases.y;
  let baseC = bases.z;

  // This lane's columns, clamped into the matrix for the loads (their sums are never stored).
  var colB: array<u32, RN>;
  for (var j = 0u; j < RN; j++) { colB[j] = min(col0 + lane + j * S, p.N - 1u); }

  var acc: array<f32, RM * RN>; // acc[i * RN + j]: row row0 + i, column col0 + lane + j·S
  var staged: array<f32, RM>;   // A[row0 + i][k0 + lane]
  for (var k0 = 0u; k0 < kEnd; k0 += S) {
    let ka = k0 + lane;
    let kaIn = min(ka, kEnd - 1u);
    for (var i = 0u; i < RM; i++) {
      let r = row0 + i;
      staged[i] = select(0.0, f32(a[baseA + min(r, p.M - 1u) * p.lda + kaIn]), r < p.M && ka < kEnd);
    }
    // The step count is uniform but not a constant, so the compiler keeps this loop rolled: on
    // lavapipe an unrolled one compiled twice as slowly at first use and ran no faster (bench/RESULTS.md).
    // It also ends the K range exactly, so B is read only inside it.
    let steps = min(S, kEnd - k0);
    for (var kk = 0u; kk < steps; kk++) {
      let k = k0 + kk;
      var bv: array<f32, RN>;
      for (var j = 0u; j < RN; j++) {
        var at = baseB + k * p.ldb + colB[j];
        if (TRANS_B) { at = baseB + colB[j] * p.ldb + k; }
        bv[j] = f32(b[at]);
      }
      for (var i = 0u; i < RM; i++) {
        let x = subgroupShuffle(staged[i], kk);
        for (var j = 0u; j < RN; j++) { acc[i * RN + j] = fma(x, bv[j], acc[i * RN + j]); }
      }
    }
  }

  // The rows that exist. A bound the compiler cannot know keeps this loop rolled: unrolled, its
  // RM·RN stores with their bias and C reads made lavapipe's first-use compile several times slower
  // (bench/RESULTS.md); it runs once per tile, so rolled costs nothing measurable.
  let rows = min(RM, p.M - row0);
  for (var i = 0u; i < rows; i++) {
    let row = row0 + i;
    for (var j = 0u; j < RN; j++) {
      let col = col0 + lane + j * S;
      if (col < p.N) {
        var x = p.alpha * acc[i * RN + j];
        if (p.hasBias != 0u) { x += f32(bias[p.offBias + col]); }
        x = activate(x);
        let at = baseC + row * p.ldc + col;
        if (p.accumulate != 0u) { x += f32(c[at]); }
        c[at] = elemC(x);
      }
    }
  }
}
