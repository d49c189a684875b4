// attention: the attention core of every head in one pass, without the pattern in memory
// (FlashAttention-2's forward pass, fp32):
//   out_h = softmax(q_h·k_hᵀ·scale, causal mask) · v_h
//
// Layouts: q [seq, ldQ], k and v [kvSeq, ldK], out [seq, ldO], all row-major; head h's d columns
// start at offX + h·d (heads side by side, as the projections write them).
// Causal mask: key j is visible to query i when j <= i + causalOffset.
//
// A workgroup takes BR query rows of one head (x: row block, y: head) and walks the keys BC at a
// time. Per key block:
//   S = q_blk·k_blkᵀ·scale, masked                    registers → workgroup memory (tileP)
//   per row: m' = max(m, max_j S), P = exp(S − m'), l' = l·exp(m − m') + Σ_j P
//   O = O·exp(m − m') + P·v_blk                       registers
// and at the end out = O / l. The pattern never leaves the workgroup: no [heads, seq, kvSeq] buffer,
// one read of q, k, v and one write of out.
//
// Threads: TX along columns × TY = BR / RPT along rows. Thread (tx, ty) holds rows ty + TY·i
// (i < RPT) of S (keys tx + TX·j, j < SC = BC / TX) and of O (the four columns from
// 4·(tx + TX·j) on, j < G). Thread r < BR also keeps row r's running max and sum: it alone
// updates them (then the rows' rescale factors go through workgroup memory to everyone).
// Workgroup tiles hold q, k and v rows as vec4 words (4 columns): a 16-byte read feeds 4 FMAs.
// Row stride DS = TX·G + 1 words (odd, so threads reading different rows hit different banks):
// tileQ [BR][DS] (scaled, loaded once), tileKV [BC][DS] (k, then v: one buffer), tileP
// [BR][BC + 1] (scores, then weights). Columns d .. 4·TX·G of the tiles read as 0.
//
// Preconditions enforced by src/kernels/attention.ts: d <= 4·TX·G, G <= MAX_G, SC <= MAX_SC,
// TX >= RPT (so THREADS >= BR), BC a multiple of TX; the tiles fit maxComputeWorkgroupStorageSize;
// every index fits a u32; inputs are finite (so only masked scores hold the sentinel).
//
// f16 (the `f16` flag): q, k, v and out are stored as f16. Loads widen to f32 (exactly), so the
// tiles, the scores, the online softmax (max, exp, sum) and the accumulators are f32 as above;
// each output is rounded to f16 once, at its store.

//#f16 enable f16;
alias elem = f32; //#f16 alias elem = f16;

override BR: u32 = 32;
override BC: u32 = 32;
override TX: u32 = 16;
override G: u32 = 2;

const RPT: u32 = 4u;
// Function-scope arrays cannot be override-sized: these bound G and SC.
const MAX_G: u32 = 4u;
const MAX_SC: u32 = 4u;
// The lowest finite f32 marks a masked score (-inf is not a WGSL literal).
const MASKED: f32 = -0x1.fffffep+127f;

override TY: u32 = BR / RPT;
override THREADS: u32 = TX * TY;
override SC: u32 = BC / TX;
override DQ: u32 = TX * G;   // vec4 words of a tile row
override DS: u32 = DQ + 1u;  // its stride
override PS: u32 = BC + 1u;

// Params, keyVisible and keysEnd: shaders/attention_params.wgsl, appended by the host.
@group(0) @binding(0) var<storage, read> q: array<elem>;
@group(0) @binding(1) var<storage, read> k: array<elem>;
@group(0) @binding(2) var<storage, read> v: array<elem>;
@group(0) @binding(3) var<storage, read_write> o: array<elem>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> tileQ: array<vec4f, BR * DS>;
var<workgroup> tileKV: array<vec4f, BC * DS>;
var<workgroup> tileP: array<f32, BR * PS>;
var<workgroup> rescale: array<f32, BR>;

// Columns col .. col + 3 of a row starting at element `at` of q (src 0), k (1) or v (2); those
// at or past d read as 0.
fn fetch4(src: u32, at: u32, col: u32) -> vec4f {
  var x = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (col + e < p.d) {
      if (src == 0u) { x[e] = f32(q[at + col + e]); } else if (src == 1u) { x[e] = f32(k[at + col + e]); } else { x[e] = f32(v[at + col + e]); }
    }
  }
  return x;
}

// Rows j0 .. j0 + BC of k (src 1) or v (src 2), from element `off` of each row, into tileKV;
// rows past kvSeq as 0.
fn loadKeys(src: u32, j0: u32, off: u32, li: u32) {
  for (var l = li; l < BC * DQ; l += THREADS) {
    let c = l / DQ;
    let w = l % DQ;
    var x = vec4f(0.0);
    if (j0 + c < p.kvSeq) { x = fetch4(src, (j0 + c) * p.ldK + off, 4u * w); }
    tileKV[c * DS + w] = x;
  }
}

@compute @workgroup_size(TX, TY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let q0 = wid.x * BR;
  let head = wid.y * p.d;
  let tx = lid.x;
  let ty = lid.y;
  let words = (p.d + 3u) / 4u; // vec4 words that hold the head's d columns

  // The queries, scaled once here rather than every score.
  for (var l = li; l < BR * DQ; l += THREADS) {
    let r = l / DQ;
    let w = l % DQ;
    var x = vec4f(0.0);
    if (q0 + r < p.seq) { x = fetch4(0u, (q0 + r) * p.ldQ + p.offQ + head, 4u * w) * p.scale; }
    tileQ[r * DS + w] = x;
  }

  let kEnd = keysEnd(q0, BR);

  var acc: array<vec4f, RPT * MAX_G>; // acc[i * MAX_G + j]: row ty + TY·i, columns 4·(tx + TX·j) .. +3
  for (var i = 0u; i < RPT * MAX_G; i++) { acc[i] = vec4f(0.0); }
  var rowMax = MASKED; // row li's, for li < BR
  var rowSum = 0.0;

  for (var j0 = 0u; j0 < kEnd; j0 += BC) {
    loadKeys(1u, j0, p.offK + head, li);
    workgroupBarrier(); // tileQ (first block) and tileKV = k are complete

    var s: array<f32, RPT * MAX_SC>;
    for (var i = 0u; i < RPT * MAX_SC; i++) { s[i] = 0.0; }
    for (var w = 0u; w < words; w++) {
      var qv: array<vec4f, RPT>;
      for (var i = 0u; i < RPT; i++) { qv[i] = tileQ[(ty + TY * i) * DS + w]; }
      for (var j = 0u; j < SC; j++) {
        let kv = tileKV[(tx + TX * j) * DS + w];
        for (var i = 0u; i < RPT; i++) { s[i * MAX_SC + j] += dot(qv[i], kv); }
      }
    }
    for (var i = 0u; i < RPT; i++) {
      let row = q0 + ty + TY * i;
      for (var j = 0u; j < SC; j++) {
        let key = j0 + tx + TX * j;
        tileP[(ty + TY * i) * PS + tx + TX * j] = select(MASKED, s[i * MAX_SC + j], keyVisible(row, key));
      }
    }
    workgroupBarrier(); // the scores are complete; tileKV is free for v

    loadKeys(2u, j0, p.offV + head, li);
    // Online softmax of row li: masked scores give exactly 0, and a row with nothing visible yet
    // keeps max MASKED and sum 0 (its rescale exp(0) = 1 multiplies zeros).
    if (li < BR) {
      var blockMax = MASKED;
      for (var c = 0u; c < BC; c++) { blockMax = max(blockMax, tileP[li * PS + c]); }
      let newMax = max(rowMax, blockMax);
      var sum = 0.0;
      for (var c = 0u; c < BC; c++) {
        let x = tileP[li * PS + c];
        let e = select(exp(x - newMax), 0.0, x == MASKED);
        tileP[li * PS + c] = e;
        sum += e;
      }
      let factor = exp(rowMax - newMax);
      rowSum = rowSum * factor + sum;
      rowMax = newMax;
      rescale[li] = factor;
    }
    workgroupBarrier(); // P, the rescale factors and tileKV = v are complete

    for (var i = 0u; i < RPT; i++) {
      let f = rescale[ty + TY * i];
      for (var j = 0u; j < G; j++) { acc[i * MAX_G + j] *= f; }
    }
    for (var c = 0u; c < BC; c++) {
      var pv: array<f32, RPT>;
      for (var i = 0u; i < RPT; i++) { pv[i] = tileP[(ty + TY * i) * PS + c]; }
      for (var j = 0u; j < G; j++) {
        let x = tileKV[c * DS + tx + TX * j];
        for (var i = 0u; i < RPT; i++) { acc[i * MAX_G + j] = fma(vec4f(pv[i]), x, acc[i * MAX_G + j]); }
      }
    }
    workgroupBarrier(); // everyone is done with tileKV and tileP before the next block
  }

  if (li < BR) { rescale[li] = select(0.0, 1.0 / rowSum, rowSum > 0.0); }
  workgroupBarrier();
  for (var i = 0u; i < RPT; i++) {
    let r = ty + TY * i;
    if (q0 + r >= p.seq) { continue; }
    let inv = rescale[r];
    let at = (q0 + r) * p.ldO + p.offO + head;
    for (var j = 0u; j < G; j++) {
      let col = 4u * (tx + TX * j);
      let x = acc[i * MAX_G + j] * inv;
      for (var e = 0u; e < 4u; e++) {
        if (col + e < p.d) { o[at + col + e] = elem(x[e]); }
      }
    }
  }
}
