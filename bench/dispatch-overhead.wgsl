// The tiny dispatch of bench/dispatch-overhead.ts: one invocation adds 1 to one word, so every
// dispatch does observable work (the host checks the count) and almost none.

@group(0) @binding(0) var<storage, read_write> counter: array<f32>;

@compute @workgroup_size(1)
fn main() {
  counter[0] = counter[0] + 1.0;
}
