// kv_words: k and v rows read a vec4 word at a time, what attention_shuffle.wgsl and decode.wgsl
// share. WGSL has no include, so the host appends this file to theirs (withShared). The including
// kernel declares `p` (its Params, with the head size `d`) and the bindings `k` and `v`: array<elem>,
// or with `v4` array<kvword>; the `f16`, `v4` and `h4` flags are its.
//
// A row's word of 4 values. With `h4` (f16 with `v4`) the word is read as two u32 of two halves each:
// lavapipe has no 16-bit gather and splits an f16 vector load lane by lane; 32-bit words are one
// gather each and unpack2x16float widens them (1.6–1.7× faster, bench/RESULTS.md 2026-12-06).
alias kvword = vec4<elem>; //#h4 alias kvword = vec2<u32>;

fn widen(x: kvword) -> vec4f {
  return vec4f(x); //#h4 return vec4f(unpack2x16float(x.x), unpack2x16float(x.y));
}

// Word w (columns 4w .. 4w + 3) of the k or v row starting at element `at`; columns past d as 0.
// With `v4` (d and the row's offset multiples of 4) one vector load; words past the row are
// clamped into it and zeroed.
fn fetchK(at: u32, w: u32) -> vec4f {
  var x = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * w + e < p.d) { x[e] = f32(k[at + 4u * w + e]); } } //#v4 x = select(vec4f(0.0), widen(k[at / 4u + min(w, p.d / 4u - 1u)]), 4u * w < p.d);
  return x;
}
fn fetchV(at: u32, w: u32) -> vec4f {
  var x = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * w + e < p.d) { x[e] = f32(v[at + 4u * w + e]); } } //#v4 x = select(vec4f(0.0), widen(v[at / 4u + min(w, p.d / 4u - 1u)]), 4u * w < p.d);
  return x;
}
