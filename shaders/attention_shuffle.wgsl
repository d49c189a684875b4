// attention, subgroup variant: the fused attention core of every head (FlashAttention-2's forward
// pass), out_h = softmax(q_h·k_hᵀ·scale, causal mask)·v_h, the pattern never stored. Same call,
// parameters, bindings and layouts as attention.wgsl (see its header); the host picks one or the
// other by the tile config (src/kernels/attention.ts).
//
// Why a second kernel: on a CPU adapter (lavapipe) a workgroup's invocations are the lanes of a
// SIMD register, every workgroup-memory read is a gather and every barrier a coroutine switch:
// attention.wgsl's tiles and barriers made it half as fast as the three-pass materialized core
// there (bench/RESULTS.md). Here a workgroup is one subgroup of S = 8 lanes computing RM query rows
// of one head, and nothing goes through workgroup memory (as shaders/matmul_shuffle.wgsl):
//   scores   lane l holds the vec4 words l + S·c (c < DW) of every row's scaled q, loaded once; per
//            8 keys it reads the same words of each key's k row (adjacent words across lanes), forms
//            the RM × 8 partial dot products, and a butterfly (subgroupShuffleXor by 4, 2, 1: 7
//            shuffles a row) sums them so that lane l ends with the scores of key j0 + l + S·jj
//            (jj < RN). The first version handed q's values to the lanes owning the keys instead (a
//            shuffle per 2 FMAs, each lane reading its own key's row: a gather); this one measured
//            1.0–1.9× faster on lavapipe (bench/RESULTS.md);
//   softmax  per row, the block's max by subgroupMax (the running max m is the same in every lane),
//            the weights exp(s − m) in the lane that owns the key; each lane sums its own keys'
//            weights (the partial sums are rescaled alike and added by subgroupAdd at the end);
//   P·V      lane l owns the vec4 words l + S·c of each output row; per key, the RM weights are
//            shuffled from the key's lane and the key's row of v read as vector words.
// No barrier, no workgroup storage.
//
// Preconditions enforced by src/kernels/attention.ts (attentionTileProblem): the adapter has
// subgroups at least S wide (so the S invocations form one subgroup with ids 0..S-1);
// DW·S·4 >= d and DW <= MAX_DW; with `v4`, d, ldK, offK and offV are multiples of 4; every index
// fits a u32; inputs are finite (so only masked scores hold the sentinel).
//
// f16 (the `f16` flag): q, k, v and out stored as f16, widened to f32 on load; scores, the online
// softmax and the sums are f32; each output rounded to f16 once, at its store.

enable subgroups;
//#f16 enable f16;
// Every invocation runs every subgroup operation: the loops' bounds are per workgroup (uniform),
// and rows or keys past the edges are clamped and masked rather than skipped.
diagnostic(off, subgroup_uniformity);
alias elem = f32; //#f16 alias elem = f16;

override DW: u32 = 2u; // vec4 words of an output row per lane: ceil(ceil(d / 4) / S)

const S: u32 = 8u;       // lanes of a workgroup: one subgroup
const RM: u32 = 8u;      // query rows of a workgroup
const RN: u32 = 2u;      // keys per lane per block (a block is S·RN keys)
const MAX_DW: u32 = 4u;  // function-scope arrays cannot be override-sized: d <= 128
const MASKED: f32 = -0x1.fffffep+127f;

// Params, keyVisible and keysEnd: shaders/attention_params.wgsl, appended by the host.
@group(0) @binding(0) var<storage, read> q: array<elem>;
// kvword, and fetchK / fetchV (a row's word of 4 values): shaders/kv_words.wgsl, appended by the host.
@group(0) @binding(1) var<storage, read> k: array<elem>; //#v4 @group(0) @binding(1) var<storage, read> k: array<kvword>;
@group(0) @binding(2) var<storage, read> v: array<elem>; //#v4 @group(0) @binding(2) var<storage, read> v: array<kvword>;
@group(0) @binding(3) var<storage, read_write> o: array<elem>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(S)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let row0 = wid.x * RM;
  let head = wid.y * p.d;
  let kEnd = keysEnd(row0, RM);

  var acc: array<vec4f, RM * MAX_DW>; // acc[i * MAX_DW + c]: row row0 + i, word lane + S·c
  var m: array<f32, RM>;              // running max of row i (the same in every lane)
  var l: array<f32, RM>;              // this lane's share of row i's sum
  for (var i = 0u; i < RM; i++) {
    m[i] = MASKED;
    l[i] = 0.0;
    for (var c = 0u; c < MAX_DW; c++) { acc[i * MAX_DW + c] = vec4f(0.0); }
  }

  // This lane's words lane + S·c of every row's q, scaled once.
  var qv: array<vec4f, RM * MAX_DW>;
  for (var i = 0u; i < RM; i++) {
    let at = min(row0 + i, p.seq - 1u) * p.ldQ + p.offQ + head;
    for (var c = 0u; c < DW; c++) {
      var x = vec4f(0.0);
      for (var e = 0u; e < 4u; e++) {
        let col = 4u * (lane + S * c) + e;
        if (col < p.d) { x[e] = f32(q[at + col]); }
      }
      qv[i * MAX_DW + c] = x * p.scale;
    }
  }

  for (var j0 = 0u; j0 < kEnd; j0 += S * RN) {
    // Scores of the lane's keys: s[i * RN + jj] = q_row(row0 + i)·k_key(j0 + lane + S·jj)·scale. Each lane
    // takes its words lane + S·c of 8 keys' rows (adjacent words across lanes), the partial dot products of
    // every row with them, then a butterfly (xor 4, 2, 1) sums them so that lane l ends with key l's scores.
    var s: array<f32, RM * RN>;
    for (var jj = 0u; jj < RN; jj++) {
      var part: array<f32, RM * S>;
      for (var b = 0u; b < S; b++) {
        let at = min(j0 + S * jj + b, p.kvSeq - 1u) * p.ldK + p.offK + head; // clamped: loaded, masked below
        var kw: array<vec4f, MAX_DW>;
        for (var c = 0u; c < DW; c++) { kw[c] = fetchK(at, lane + S * c); }
        for (var i = 0u; i < RM; i++) {
          var x = 0.0;
          for (var c = 0u; c < DW; c++) { x += dot(qv[i * MAX_DW + c], kw[c]); }
          part[i * S + b] = x;
        }
      }
      let hi4 = (lane & 4u) != 0u;
      let hi2 = (lane & 2u) != 0u;
      let hi1 = (lane & 1u) != 0u;
      for (var i = 0u; i < RM; i++) {
        var h4: array<f32, 4>;
        for (var b = 0u; b < 4u; b++) {
          let lo = part[i * S + b];
          let up = part[i * S + b + 4u];
          h4[b] = select(lo, up, hi4) + subgroupShuffleXor(select(up, lo, hi4), 4u);
        }
        var h2: array<f32, 2>;
        for (var b = 0u; b < 2u; b++) {
          h2[b] = select(h4[b], h4[b + 2u], hi2) + subgroupShuffleXor(select(h4[b + 2u], h4[b], hi2), 2u);
        }
        s[i * RN + jj] = select(h2[0], h2[1], hi1) + subgroupShuffleXor(select(h2[1], h2[0], hi1), 1u);
      }
    }

    // Online softmax, row by row; masked scores give exactly 0, and a row with nothing visible yet
    // keeps max MASKED and sum 0.
    for (var i = 0u; i < RM; i++) {
      let row = row0 + i;
      var blockMax = MASKED;
      for (var jj = 0u; jj < RN; jj++) {
        let key = j0 + lane + S * jj;
        s[i * RN + jj] = select(MASKED, s[i * RN + jj], row < p.seq && keyVisible(row, key));
        blockMax = max(blockMax, s[i * RN + jj]);
      }
      let newMax = max(m[i], subgroupMax(blockMax));
      if (newMax > m[i]) { // uniform: m and the block's max are the same in every lane
        let f = exp(m[i] - newMax);
        l[i] *= f;
        for (var c = 0u; c < DW; c++) { acc[i * MAX_DW + c] *= f; }
        m[i] = newMax;
      }
      for (var jj = 0u; jj < RN; jj++) {
        let x = s[i * RN + jj];
        let e = select(exp(x - newMax), 0.0, x == MASKED);
        s[i * RN + jj] = e;
        l[i] += e;
      }
    }

    // O += P·V: key j0 + src + S·jj's weights come from lane src.
    for (var jj = 0u; jj < RN; jj++) {
      for (var src = 0u; src < S; src++) {
        let key = j0 + src + S * jj;
        if (key >= kEnd) { break; } // uniform
        let vrow = key * p.ldK + p.offV + head;
        var vv: array<vec4f, MAX_DW>;
        for (var c = 0u; c < DW; c++) { vv[c] = fetchV(vrow, lane + S * c); }
        for (var i = 0u; i < RM; i++) {
          let e = subgroupShuffle(s[i * RN + jj], src);
          for (var c = 0u; c < DW; c++) { acc[i * MAX_DW + c] = fma(vec4f(e), vv[c], acc[i * MAX_DW + c]); }
        }
      }
    }
  }

  let rows = min(RM, p.seq - row0);
  for (var i = 0u; i < RM; i++) {
    let sum = subgroupAdd(l[i]);
    if (i >= rows) { continue; }
    let inv = select(0.0, 1.0 / sum, sum > 0.0);
    let at = (row0 + i) * p.ldO + p.offO + head;
    for (var c = 0u; c < DW; c++) {
      let col = 4u * (lane + S * c);
      let x = acc[i * MAX_DW + c] * inv;
      for (var e = 0u; e < 4u; e++) {
        if (col + e < p.d) { o[at + col + e] = elem(x[e]); }
      }
    }
  }
}
