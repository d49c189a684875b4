// decode: one decode step's attention core, one new query row per head against the first n rows of
// the KV cache (flash-decoding):
//   out_h = softmax(q_h·K_h[0..n)ᵀ·scale) · V_h[0..n)
// No mask: the cache holds exactly the positions the new token sees, so stopping at n is the
// causal mask. Two entry points, one dispatch each (pass 1 may be several, see "windows"):
//   split:   workgroup (s, h) takes the keys [s·chunk, (s+1)·chunk) ∩ [0, n) of head h and writes,
//            per stream, its running max m, its sum l = Σ exp(score − m) and its unnormalised
//            weighted sum o = Σ exp(score − m)·v into the partials;
//   combine: workgroup h merges head h's partials exactly: M = max m, L = Σ exp(m − M)·l,
//            out = Σ exp(m − M)·o / L.
// Splitting the keys is what keeps a GPU busy for one token: heads × splits workgroups, the split
// count chosen by the host from n and the adapter (src/kernels/decode.ts).
//
// Layouts (elements): q [heads·d] at offQ + h·d (the query row, heads side by side, as the
// projection writes it); k and v [heads, maxSeq, d], row j of head h at h·maxSeq·d + j·d, bound
// per window (below); out [heads·d] at offO + h·d; partial [heads, slots, STREAMS, d + 2] f32:
// o (d values), m, l.
//
// Threads: a workgroup is W threads in STREAMS = W / G streams of G threads. A stream walks every
// STREAMS-th key of the workgroup's range, KB keys a step (one rescale per step: the new max is
// taken over KB scores); its G threads share each key row, thread `lane` holding the vec4 words
// lane + G·i (i < WORDS) of q and o, so the G threads of a stream read adjacent words of one row
// and adjacent streams read adjacent rows. A score's G partial dot products are summed with
// subgroupShuffleXor (the `sub` flag; G = 1 needs no subgroups). No workgroup memory, no barrier:
// on a CPU adapter (lavapipe) every workgroup-memory access is a gather and every barrier a
// coroutine switch, and on a GPU the streams need nothing from each other until the combine.
//
// Windows: the host binds k and v in windows that fit maxStorageBufferBindingSize, each one
// dispatch of pass 1: whole heads [headBase, headBase + grid.y) (keyBase 0, keyEnd maxSeq), or, when
// one head alone is over the limit, keys [keyBase, keyEnd) of one head. offKV is the element where
// the window's first row starts inside its binding (the binding's offset is aligned down);
// slotBase the window's first partial slot.
//
// Preconditions enforced by src/kernels/decode.ts: 1 <= n <= maxSeq; WORDS·G·4 >= d and
// WORDS <= MAX_WORDS; G divides W and, with G > 1, the adapter has subgroups at least G wide (so
// a stream's G threads are adjacent lanes of one subgroup); every index fits a u32; inputs are finite.
//
// f16 (the `f16` flag): q, k, v and out stored as f16, widened to f32 on load; scores, the
// softmax and the sums are f32; each output is rounded to f16 once, at its store.

//#f16 enable f16;
//#sub enable subgroups;
// Every invocation reaches every shuffle: the key loop's bounds are per workgroup (uniform), rows
// past the range are clamped and masked rather than skipped.
//#sub diagnostic(off, subgroup_uniformity);
alias elem = f32; //#f16 alias elem = f16;

override W: u32 = 8u;      // threads a workgroup
override G: u32 = 1u;      // threads a key row
override WORDS: u32 = 16u; // vec4 words of a row per thread
override STREAMS: u32 = W / G;

const KB: u32 = 4u;         // keys a stream scores before it rescales
const MAX_WORDS: u32 = 32u; // function-scope arrays cannot be override-sized: bounds WORDS
// The lowest finite f32 marks "no key yet" (-inf is not a WGSL literal); exp(MASKED − m) is 0.
const MASKED: f32 = -0x1.fffffep+127f;

struct Params {
  n: u32, d: u32, maxSeq: u32, chunk: u32,
  headBase: u32, keyBase: u32, keyEnd: u32, slotBase: u32,
  slots: u32, used: u32, offQ: u32, offKV: u32,
  offO: u32, scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<elem>;
// kvword, and fetchK / fetchV (a row's word of 4 values): shaders/kv_words.wgsl, appended by the host.
@group(0) @binding(1) var<storage, read> k: array<elem>; //#v4 @group(0) @binding(1) var<storage, read> k: array<kvword>;
@group(0) @binding(2) var<storage, read> v: array<elem>; //#v4 @group(0) @binding(2) var<storage, read> v: array<kvword>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read_write> o: array<elem>;

// Columns col .. col + 3 of the q row starting at element `at`; those
// at or past d read as 0.
fn fetchQ(at: u32, col: u32) -> vec4f {
  var x = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (col + e < p.d) { x[e] = f32(q[at + col + e]); }
  }
  return x;
}

@compute @workgroup_size(W)
fn split(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let hw = wid.y;             // head within the window
  let h = p.headBase + hw;
  let lane = t % G;
  let stream = t / G;
  let start = p.keyBase + wid.x * p.chunk;
  let end = min(min(start + p.chunk, p.keyEnd), p.n);
  let rows = p.offKV + hw * p.maxSeq * p.d; // row keyBase of head h in the window

  // This thread's words of q, scaled once here rather than every score.
  var qv: array<vec4f, MAX_WORDS>;
  var acc: array<vec4f, MAX_WORDS>;
  for (var i = 0u; i < WORDS; i++) {
    qv[i] = fetchQ(p.offQ + h * p.d, 4u * (lane + G * i)) * p.scale;
    acc[i] = vec4f(0.0);
  }
  var m = MASKED;
  var l = 0.0;

  for (var j0 = start; j0 < end; j0 += STREAMS * KB) {
    var s: array<f32, KB>;
    var at: array<u32, KB>;
    var blockMax = MASKED;
    for (var b = 0u; b < KB; b++) {
      let j = j0 + b * STREAMS + stream;
      at[b] = rows + (min(j, end - 1u) - p.keyBase) * p.d; // clamped: every lane loads, masked below
      var x = 0.0;
      for (var i = 0u; i < WORDS; i++) { x += dot(qv[i], fetchK(at[b], lane + G * i)); }
      //#sub for (var off = G / 2u; off > 0u; off /= 2u) { x += subgroupShuffleXor(x, off); }
      s[b] = select(MASKED, x, j < end);
      blockMax = max(blockMax, s[b]);
    }
    // A new maximum rescales what was summed so far (exp(MASKED − x) = 0 for a stream's first key).
    if (blockMax > m) {
      let f = exp(m - blockMax);
      l *= f;
      for (var i = 0u; i < WORDS; i++) { acc[i] *= f; }
      m = blockMax;
    }
    for (var b = 0u; b < KB; b++) {
      let e = select(0.0, exp(s[b] - m), s[b] != MASKED);
      l += e;
      for (var i = 0u; i < WORDS; i++) { acc[i] = fma(vec4f(e), fetchV(at[b], lane + G * i), acc[i]); }
    }
  }

  let base = ((h * p.slots + p.slotBase + wid.x) * STREAMS + stream) * (p.d + 2u);
  for (var i = 0u; i < WORDS; i++) {
    let col = 4u * (lane + G * i);
    for (var e = 0u; e < 4u; e++) {
      if (col + e < p.d) { partial[base + col + e] = acc[i][e]; }
    }
  }
  if (lane == 0u) {
    partial[base + p.d] = m;
    partial[base + p.d + 1u] = l;
  }
}

// Head wid.x: its p.used slots × STREAMS partials merged. Every thread reads the same m and l
// (uniform loads) and computes the weights itself; thread t writes columns t, t + W, ….
@compute @workgroup_size(W)
fn combine(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wid.x;
  let parts = p.used * STREAMS;
  let stride = p.d + 2u;
  let base = h * p.slots * STREAMS * stride;
  var big = MASKED;
  for (var i = 0u; i < parts; i++) { big = max(big, partial[base + i * stride + p.d]); }
  var sum = 0.0;
  for (var i = 0u; i < parts; i++) {
    let at = base + i * stride;
    sum += exp(partial[at + p.d] - big) * partial[at + p.d + 1u];
  }
  let inv = 1.0 / sum; // n >= 1: some key was seen, sum >= 1
  for (var col = t; col < p.d; col += W) {
    var x = 0.0;
    for (var i = 0u; i < parts; i++) {
      let at = base + i * stride;
      x += exp(partial[at + p.d] - big) * partial[at + col];
    }
    o[p.offO + h * p.d + col] = elem(x * inv);
  }
}
