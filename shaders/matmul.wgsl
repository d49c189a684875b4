// matmul: C = act(alpha · A · op(B) (+ bias[col])) (+ C when p.accumulate), for a batch of matrices
// (act: the override ACT, matmul_params.wgsl; none but for the MLP's first product).
//
// A: [M, K], row stride lda.   B: [K, N], row stride ldb; with TRANS_B, [N, K] (PyTorch's
// Linear weight layout, and K for Q·Kᵀ).   C: [M, N], row stride ldc.
// Batch b = workgroup_id.z shifts A, B and C by batchA/B/C elements: one dispatch covers all
// heads of a [seq, heads·dHead] matrix (batch stride dHead) or of the [heads, seq, kvSeq] pattern.
//
// Tiles. A workgroup of WG_X × WG_Y threads computes a TM × TN block of C (TM = WG_Y·RM,
// TN = WG_X·RN, RM = RN = 4, or 8 with the `rb8` flag). Thread (x, y) holds RM × RN sums in
// registers: RM/4 groups of 4 adjacent rows, y·4 + g·TM/(RM/4), and RN/4 groups of 4 adjacent
// columns, x·4 + h·TN/(RN/4). Adjacent fours let one 16-byte workgroup read feed 4 rows (or
// columns); spreading the groups TM/2 apart keeps those reads conflict-free (a warp's B reads
// are consecutive 16-byte words; its A reads are a few broadcast words).
// K advances TK (a multiple of 4) at a time through workgroup tiles stored k-major as vec4 words:
// tileA[stage][k][m/4], each k row padded by one vec4 so the transposing stores of A (and of a
// transposed B) spread over the banks.
//
// Pipeline. Each thread copies its share of the next K step from global memory into registers
// before it computes the current one, so the loads are in flight during the arithmetic; it then
// stores them into the workgroup tile. With STAGES = 2 the tiles are double-buffered and one
// barrier per K step suffices (a stage is rewritten two steps after it was read, with a
// barrier between); with STAGES = 1 a second barrier guards the single stage (half the memory).
//
// Loads. The `vec4` flag binds A and B as array<vec4f> (vec4<f16> for f16) and reads 4 elements
// at once: the host enables it only when every row start is a multiple of 4 elements (strides,
// offsets, batch strides) and each binding's size a multiple of 16 bytes (8 for f16), so every vec4 that holds a wanted
// element lies inside the binding. Without it, each of the four values is a scalar load. Either
// way the values past M, N or the K end read as 0 and no load leaves the row's valid range.
// Any M, N, K: writes past the edge are dropped.
//
// Order. Workgroups walk the C tiles in groups of GROUP_M tile rows, column by column within a
// group, so the workgroups resident at once share A and B panels in L2 (GROUP_M = 1: row-major).
//
// Causal attention: the two modes of shaders/matmul_params.wgsl (tileK): masked score tiles
// skipped, weighted sums stopping K at the diagonal.
//
// Precision. Each of A, B, bias and C is stored as f32 or, with the flags a16, b16, bias16, c16
// (and f16 for the `enable`), as f16. Loads widen to f32 (exactly), so the workgroup tiles, the
// registers and every sum are f32 whatever the storage; C is rounded to f16 once, at its store
// (with p.accumulate an f16 C is read, widened, added to in f32 and rounded once). The vec4 variant
// of an f16 operand reads vec4<f16> words (8 bytes): the same alignment in elements as f32.
//
// Preconditions enforced by src/kernels/matmul.ts: every index fits a u32; the bindings fit
// maxStorageBufferBindingSize; the grid fits maxComputeWorkgroupsPerDimension; TK is a multiple
// of 4; each thread stages at most MAX_STAGED vec4 per operand; the vec4 alignment above.

//#f16 enable f16;

alias elemA = f32; //#a16 alias elemA = f16;
alias elemB = f32; //#b16 alias elemB = f16;
alias elemBias = f32; //#bias16 alias elemBias = f16;
alias elemC = f32; //#c16 alias elemC = f16;

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TK: u32 = 8;
override STAGES: u32 = 2;
override GROUP_M: u32 = 8;
override TRANS_B: bool = false;
// Whether C is added to and a bias is added ride in the uniform, not in overrides: they are one
// branch per stored element, and as overrides they made the output projection (accumulating into
// the residual) a pipeline of its own, which a CPU adapter compiles at its first dispatch for
// seconds (bench/RESULTS.md).

// Register block: function-scope arrays cannot be override-sized, so this is a preprocessor flag.
const RM: u32 = 4u; //#rb8 const RM: u32 = 8u;
const RN: u32 = 4u; //#rb8 const RN: u32 = 8u;
const GM: u32 = RM / 4u; // row groups of 4 per thread
const GN: u32 = RN / 4u; // column groups of 4 per thread
// Registers that hold one operand's share of the next K step (the host keeps configs within).
const MAX_STAGED: u32 = 8u;

override TM: u32 = WG_Y * RM;
override TN: u32 = WG_X * RN;
override THREADS: u32 = WG_X * WG_Y;
override SA: u32 = WG_Y * GM + 1u; // vec4 words per k row of tileA (one of padding)
override SB: u32 = WG_X * GN + 1u;
override KQ: u32 = TK / 4u;        // vec4 words per tile row of A (and of a transposed B)
override WORDS_A: u32 = TM * KQ;   // vec4 words of A per K step
override WORDS_B: u32 = TN * KQ;
override LOADS_A: u32 = (WORDS_A + THREADS - 1u) / THREADS;
override LOADS_B: u32 = (WORDS_B + THREADS - 1u) / THREADS;

// Params, tileK and batchBases: shaders/matmul_params.wgsl, appended by the host.
@group(0) @binding(0) var<storage, read> a: array<elemA>; //#vec4 @group(0) @binding(0) var<storage, read> a: array<vec4<elemA>>;
@group(0) @binding(1) var<storage, read> b: array<elemB>; //#vec4 @group(0) @binding(1) var<storage, read> b: array<vec4<elemB>>;
@group(0) @binding(2) var<storage, read> bias: array<elemBias>;
@group(0) @binding(3) var<storage, read_write> c: array<elemC>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> tileA: array<vec4f, STAGES * TK * SA>; // [stage][k][m / 4]
var<workgroup> tileB: array<vec4f, STAGES * TK * SB>; // [stage][k][n / 4]

// Elements i .. i+3 of A (of B), of which the first n (0..4) are wanted; the others read as 0.
// In the vec4 variant i is a multiple of 4 and one 16-byte load reads all four.
fn loadA(i: u32, n: u32) -> vec4f {
  var v = vec4f(0.0);
  if (n > 0u) { v.x = f32(a[i]); } if (n > 1u) { v.y = f32(a[i + 1u]); } if (n > 2u) { v.z = f32(a[i + 2u]); } if (n > 3u) { v.w = f32(a[i + 3u]); } //#vec4 if (n > 0u) { v = select(vec4f(0.0), vec4f(a[i / 4u]), vec4u(0u, 1u, 2u, 3u) < vec4u(n)); }
  return v;
}

fn loadB(i: u32, n: u32) -> vec4f {
  var v = vec4f(0.0);
  if (n > 0u) { v.x = f32(b[i]); } if (n > 1u) { v.y = f32(b[i + 1u]); } if (n > 2u) { v.z = f32(b[i + 2u]); } if (n > 3u) { v.w = f32(b[i + 3u]); } //#vec4 if (n > 0u) { v = select(vec4f(0.0), vec4f(b[i / 4u]), vec4u(0u, 1u, 2u, 3u) < vec4u(n)); }
  return v;
}

// How many of the 4 elements from `start` on lie before `end` (0 when none, or when `inside` is false).
fn valid(inside: bool, start: u32, end: u32) -> u32 {
  return select(0u, min(4u, end - start), inside && start < end);
}

// Where a workgroup's C tile starts, and where its K range ends.
struct TileOrigin { row0: u32, col0: u32, baseA: u32, baseB: u32, kEnd: u32 }

// This thread's share of the K step from k0 on, global memory → registers. Word l of A's step:
// row l / KQ, elements 4·(l % KQ) .. +3 along K. Consecutive threads walk along K, which is
// contiguous in A (and in a transposed B): coalesced. Without TRANS_B, word l of B is k row
// l / (TN/4), columns 4·(l % (TN/4)) .. +3, contiguous in B.
fn loadStep(t: TileOrigin, k0: u32, li: u32, stagedA: ptr<function, array<vec4f, MAX_STAGED>>,
            stagedB: ptr<function, array<vec4f, MAX_STAGED>>) {
  for (var i = 0u; i < LOADS_A; i++) {
    let l = li + i * THREADS;
    let gr = t.row0 + l / KQ;
    let gk = k0 + (l % KQ) * 4u;
    (*stagedA)[i] = loadA(t.baseA + gr * p.lda + gk, valid(l < WORDS_A && gr < p.M, gk, t.kEnd));
  }
  for (var i = 0u; i < LOADS_B; i++) {
    let l = li + i * THREADS;
    if (TRANS_B) {
      let gc = t.col0 + l / KQ;
      let gk = k0 + (l % KQ) * 4u;
      (*stagedB)[i] = loadB(t.baseB + gc * p.ldb + gk, valid(l < WORDS_B && gc < p.N, gk, t.kEnd));
    } else {
      let gk = k0 + l / (TN / 4u);
      let gc = t.col0 + (l % (TN / 4u)) * 4u;
      (*stagedB)[i] = loadB(t.baseB + gk * p.ldb + gc, valid(l < WORDS_B && gk < t.kEnd, gc, p.N));
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  // Grouped tile order (see the header).
  let id = wid.y * groups.x + wid.x;
  let span = GROUP_M * groups.x;
  let firstRow = (id / span) * GROUP_M;
  let rowsInGroup = min(groups.y - firstRow, GROUP_M);
  let row0 = (firstRow + (id % span) % rowsInGroup) * TM;
  let col0 = ((id % span) / rowsInGroup) * TN;

  let range = tileK(row0, TM, col0);
  if (range.masked) { return; }
  let kEnd = range.kEnd;
  let bases = batchBases(wid.z);
  let baseC = bases.z;

  var acc: array<vec4f, RM * GN>; // acc[r * GN + h]: row group r / 4, row r % 4, column group h
  var stagedA: array<vec4f, MAX_STAGED>;
  var stagedB: array<vec4f, MAX_STAGED>;
  let steps = (kEnd + TK - 1u) / TK;

  let tile = TileOrigin(row0, col0, bases.x, bases.y, kEnd);
  var k0 = 0u;
  loadStep(tile, k0, li, &stagedA, &stagedB);

  for (var step = 0u; step < steps; step++) {
    let stage = step % STAGES;
    // Registers → workgroup tile of this step. Two steps ago this stage was read; the barrier
    // of the last step separates that from now. (With one stage, the barrier at the loop's end.)
    for (var i = 0u; i < LOADS_A; i++) {
      let l = li + i * THREADS;
      if (l < WORDS_A) {
        let at = (stage * TK + (l % KQ) * 4u) * SA + (l / KQ) / 4u;
        let lane = (l / KQ) % 4u;
        let v = stagedA[i];
        tileA[at][lane] = v.x;
        tileA[at + SA][lane] = v.y;
        tileA[at + 2u * SA][lane] = v.z;
        tileA[at + 3u * SA][lane] = v.w;
      }
    }
    for (var i = 0u; i < LOADS_B; i++) {
      let l = li + i * THREADS;
      if (l < WORDS_B) {
        let v = stagedB[i];
        if (TRANS_B) {
          let at = (stage * TK + (l % KQ) * 4u) * SB + (l / KQ) / 4u;
          let lane = (l / KQ) % 4u;
          tileB[at][lane] = v.x;
          tileB[at + SB][lane] = v.y;
          tileB[at + 2u * SB][lane] = v.z;
          tileB[at + 3u * SB][lane] = v.w;
        } else {
          tileB[(stage * TK + l / (TN / 4u)) * SB + l % (TN / 4u)] = v;
        }
      }
    }
    // The tile is complete before anyone reads it.
    workgroupBarrier();

    // Next step's loads, in flight while this step computes.
    if (step + 1u < steps) {
      k0 += TK;
      loadStep(tile, k0, li, &stagedA, &stagedB);
    }

    for (var k = 0u; k < TK; k++) {
      let rowA = (stage * TK + k) * SA + lid.y;
      let rowB = (stage * TK + k) * SB + lid.x;
      var av: array<vec4f, GM>;
      var bv: array<vec4f, GN>;
      for (var g = 0u; g < GM; g++) { av[g] = tileA[rowA + g * WG_Y]; }
      for (var h = 0u; h < GN; h++) { bv[h] = tileB[rowB + h * WG_X]; }
      for (var r = 0u; r < RM; r++) {
        let x = vec4f(av[r / 4u][r % 4u]);
        for (var h = 0u; h < GN; h++) { acc[r * GN + h] = fma(x, bv[h], acc[r * GN + h]); }
      }
    }
    // The single stage is rewritten next step: wait until every thread has read it.
    if (STAGES == 1u) { workgroupBarrier(); }
  }

  for (var r = 0u; r < RM; r++) {
    let row = row0 + (r / 4u) * (WG_Y * 4u) + lid.y * 4u + r % 4u;
    let rowOk = row < p.M;
    for (var h = 0u; h < GN; h++) {
      let col = col0 + h * (WG_X * 4u) + lid.x * 4u;
      let v = p.alpha * acc[r * GN + h];
      for (var j = 0u; j < 4u; j++) {
        if (rowOk && col + j < p.N) {
          var x = v[j];
          if (p.hasBias != 0u) { x += f32(bias[p.offBias + col + j]); }
          x = activate(x);
          let i = baseC + row * p.ldc + col + j;
          if (p.accumulate != 0u) { x += f32(c[i]); }
          c[i] = elemC(x);
        }
      }
    }
  }
}
