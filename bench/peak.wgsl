// peak: probes of what an adapter can do at best, for the benchmark's "% peak" where no published
// peak is known (software adapters, unlisted GPUs).
//   fmaProbe:  WG threads, each ITERS steps of 8 independent vec4 FMA chains (32 FMAs a step, no memory
//         traffic but one store at the end so nothing is optimised away). 8 chains hide FMA latency;
//         named variables rather than an array keep them in registers.
//   copyProbe: a grid-stride copy of `words` vec4 from src to dst (bytes read + written = 32 per word).
// The fixed point of x ← 0.9999·x + 1e-4 is 1, so the chains neither overflow nor turn denormal.

override WG: u32 = 256;
override ITERS: u32 = 4096;

struct Params { words: u32, threads: u32 }

@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn fmaProbe(@builtin(global_invocation_id) gid: vec3u) {
  let m = vec4f(0.9999);
  let b = vec4f(1e-4);
  let seed = f32(gid.x % 1024u) * 1e-4;
  var a0 = vec4f(seed); var a1 = vec4f(seed + 0.1); var a2 = vec4f(seed + 0.2); var a3 = vec4f(seed + 0.3);
  var a4 = vec4f(seed + 0.4); var a5 = vec4f(seed + 0.5); var a6 = vec4f(seed + 0.6); var a7 = vec4f(seed + 0.7);
  for (var i = 0u; i < ITERS; i++) {
    a0 = fma(a0, m, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);
    a4 = fma(a4, m, b); a5 = fma(a5, m, b); a6 = fma(a6, m, b); a7 = fma(a7, m, b);
  }
  dst[gid.x % p.words] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + src[0];
}

@compute @workgroup_size(WG)
fn copyProbe(@builtin(global_invocation_id) gid: vec3u) {
  for (var i = gid.x; i < p.words; i += p.threads) { dst[i] = src[i]; }
}
