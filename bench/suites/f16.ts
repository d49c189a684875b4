// The f16 rows of every suite: inputs rounded to f16 values (src/io/half.ts, round to nearest even), the
// float64 reference recomputed from exactly those rounded values, and the tolerance of f16 storage.
//
// Tolerance (|got − ref| ≤ atol + rtol·|ref|, ref = float64 from the f16-rounded inputs):
// - The inputs are the f16 values themselves, so their rounding costs nothing against this reference.
// - The arithmetic is f32 (accumulation, softmax's max/sum/exp): its error is what FP32_TOLERANCE bounds,
//   e32 ≤ atol32 + rtol32·|ref| (argued in src/verify/compare.ts).
// - The output is stored once in f16: round to nearest moves the f32 value y' by at most F16_UNIT·|y'|
//   (u = 2⁻¹¹, normal range; a subnormal moves by ≤ 2⁻²⁵, far below atol32), and |y'| ≤ |ref| + e32, so
//     |got − ref| ≤ e32 + u·(|ref| + e32) = atol32·(1 + u) + (rtol32·(1 + u) + u)·|ref|.
//   For matmul, weighted sums and softmax that is the whole bound: rtol 2.49e-3, atol 2.0e-4.
// - The attention core may also store its intermediates in f16 (the materialized scores and pattern). A
//   score s rounded to f16 moves by ≤ u·|s| ≤ u·S (S = the largest |score| of the row), which changes each
//   softmax weight p_j by a factor within e^{±2uS}; the pattern rounded to f16 moves each weight by another
//   u·p_j (plus ≤ 2⁻²⁵ per weight in the subnormal range). With V = max |v|, the weighted sum Σ p_j v_j
//   moves by ≤ Σ_j |Δp_j|·V ≤ ((e^{2uS} − 1) + u + L·2⁻²⁵)·V for L keys (Σ p_j = 1), which is added to atol
//   (before the output rounding's (1 + u)). S is taken from the rows checked (their scores recomputed in
//   float64), V from the whole v. A kernel that keeps the pattern in f32 meets the tighter bound with room.
// A library that accumulates in f16 (each partial sum rounded, error growing like √K·u) does not promise this
// bound and is reported WRONG by it; its max relative error is in the row, so the reader can see by how much.

import { FP32_TOLERANCE, type Tolerance } from '../../src/verify/compare.js';
import { F16_UNIT, roundArrayToF16 } from '../../src/io/half.js';
import { opBytes, type OpCase, type OpInputs } from '../inputs.js';

/** The same inputs with every value rounded to the nearest f16 (−∞ stays −∞). */
export function roundInputs(x: OpInputs): OpInputs {
  switch (x.op) {
    case 'matmul':
      return { op: 'matmul', a: roundArrayToF16(x.a), b: roundArrayToF16(x.b) };
    case 'softmax':
      return { op: 'softmax', x: roundArrayToF16(x.x) };
    case 'attention':
    case 'decode':
      return { op: x.op, q: roundArrayToF16(x.q), k: roundArrayToF16(x.k), v: roundArrayToF16(x.v) } as OpInputs;
  }
}

/** Bytes for GB/s of an f16 row: every input and output stored in 2 bytes instead of 4. */
export const f16Bytes = (c: OpCase): number => opBytes(c) / 2;

/** The f16 storage tolerance of the elements at `indices` (all when null), derived above. */
export function f16Tolerance(c: OpCase, x: OpInputs, indices: Uint32Array | null): Tolerance {
  const u = F16_UNIT;
  const { atol, rtol } = FP32_TOLERANCE;
  let intermediate = 0;
  if (c.op === 'attention' && x.op === 'attention') {
    const S = maxScore(c, x, indices);
    let V = 0;
    for (const value of x.v) V = Math.max(V, Math.abs(value));
    intermediate = (Math.expm1(2 * u * S) + u + c.seq * 2 ** -25) * V;
  }
  if (c.op === 'decode' && x.op === 'decode') {
    // One query row (seq 1, unmasked) against nKv keys: the same allowance for peers that store scores in f16.
    const S = maxScore({ op: 'attention', heads: c.heads, seq: 1, dHead: c.dHead, causal: false }, { op: 'attention', q: x.q, k: x.k, v: x.v }, indices, c.nKv);
    let V = 0;
    for (const value of x.v) V = Math.max(V, Math.abs(value));
    intermediate = (Math.expm1(2 * u * S) + u + c.nKv * 2 ** -25) * V;
  }
  return { atol: (atol + intermediate) * (1 + u), rtol: rtol * (1 + u) + u };
}

/** The largest |q_h·k_hᵀ/√dHead| over the visible keys of the (query, head) rows the check reads. */
function maxScore(c: Extract<OpCase, { op: 'attention' }>, x: Extract<OpInputs, { op: 'attention' }>, indices: Uint32Array | null, keys = c.seq): number {
  const W = c.heads * c.dHead;
  const rows = new Set<number>();
  if (indices) for (const i of indices) rows.add(Math.floor(i / c.dHead));
  else for (let r = 0; r < c.seq * c.heads; r++) rows.add(r);
  const scale = 1 / Math.sqrt(c.dHead);
  let S = 0;
  for (const r of rows) {
    const [i, h] = [Math.floor(r / c.heads), r % c.heads];
    const q = i * W + h * c.dHead;
    for (let j = 0; j < (c.causal ? i + 1 : keys); j++) {
      const k = j * W + h * c.dHead;
      let s = 0;
      for (let d = 0; d < c.dHead; d++) s += x.q[q + d]! * x.k[k + d]!;
      S = Math.max(S, Math.abs(s * scale));
    }
  }
  return S;
}
