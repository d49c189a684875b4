// What both fused attention kernels (attention.wgsl, attention_shuffle.wgsl) share: the parameters,
// packed by src/kernels/attention.ts in this order, and the causal mask read from them the same way in
// either. WGSL has no include, so the host appends this file to the kernel's (after its `enable`
// lines). The kernel declares `p` (binding 4) with this struct.

struct Params {
  seq: u32, kvSeq: u32, d: u32,
  ldQ: u32, ldK: u32, ldO: u32,
  offQ: u32, offK: u32, offV: u32, offO: u32,
  causal: u32, causalOffset: u32,
  scale: f32,
}

// Causal mask: key j is visible to query i when j <= i + causalOffset (and j < kvSeq).
fn keyVisible(row: u32, key: u32) -> bool {
  return key < p.kvSeq && (p.causal == 0u || key <= row + p.causalOffset);
}

// Where the key loop of the query rows row0 .. row0 + rows stops: keys past the last row's limit
// are masked for all of them.
fn keysEnd(row0: u32, rows: u32) -> u32 {
  let lastRow = min(row0 + rows, p.seq) - 1u;
  var kEnd = p.kvSeq;
  if (p.causal != 0u) { kEnd = min(p.kvSeq, lastRow + p.causalOffset + 1u); }
  return kEnd;
}
