// Every implementation's output is checked in the run against float64 values recomputed on the CPU from the
// same inputs. Small outputs are checked element by element in full; when recomputing every element would
// cost more than FULL_CHECK_FMAS multiply-adds, SAMPLE_COUNT elements drawn at random (seeded, so every impl
// is checked at the same places) are recomputed instead: each one exactly, by src/reference/attention.ts
// applied to the rows it lies in (a whole GPT-3-sized reference would take hours in JS).
// Each element's allowance is the one judge's (src/verify/tolerance.ts), derived for the operation from the very
// inputs, the same for ours and every peer (allowanceAt): a matmul element's from its row and column norms
// (matmulElementError), a softmax row's from its scores (softmaxRowError), the attention core's and a decode
// step's from coreError (src/verify/layer-bound.ts); f16 rows add one f16 rounding of the stored output and let the
// core's scores and pattern be stored in f16 (the materialized core; a peer's float16 graph). A masked softmax
// entry must be exactly 0.

import type { AttentionConfig } from '../src/model/config.js';
import { hash32 } from '../src/model/seeded.js';
import { attentionRow, matmulTransB, softmaxRows } from '../src/reference/attention.js';
import { coreError } from '../src/verify/layer-bound.js';
import { allowance, judge, matmulElementError, softmaxRowError } from '../src/verify/tolerance.js';
import { outputElements, visibleColumns, type OpCase, type OpInputs } from './inputs.js';

export const FULL_CHECK_FMAS = 2 ** 25;
export const SAMPLE_COUNT = 256;

export interface Check {
  passed: boolean;
  maxRelError: number;
  maxAbsError: number;
  /** The worst element's error over its allowance (> 1: WRONG); Infinity for a value that is not finite. */
  worstRatio: number;
  /** What failed, in words (empty when it passed). */
  detail: string;
  /** 'all 65536' or 'sampled 256 of 4194304'. */
  what: string;
}

export type BenchPrecision = 'f32' | 'f16';

/** Multiply-adds to recompute one output element. */
function costPerElement(c: OpCase): number {
  switch (c.op) {
    case 'matmul':
      return c.K;
    case 'softmax':
      return 3 * c.cols; // the row's max, sum and one exp each: counted per element, though rows are shared
    case 'attention':
      return 2 * c.seq * c.dHead;
    case 'decode':
      return 2 * c.nKv * c.dHead;
  }
}

/** The flat output indices to check, sorted: all of them, or SAMPLE_COUNT distinct seeded ones. */
export function checkIndices(c: OpCase, seed = 1): Uint32Array | null {
  const n = outputElements(c);
  if (n * costPerElement(c) <= FULL_CHECK_FMAS || n <= SAMPLE_COUNT) return null;
  const picked = new Set<number>();
  for (let i = 0; picked.size < SAMPLE_COUNT; i++) picked.add(Math.floor((hash32(seed * 7919 + i) / 2 ** 32) * n));
  return Uint32Array.from([...picked].sort((x, y) => x - y));
}

/**
 * out[i] = row(r)[e] where the i-th checked element is element e of row r (rows of `rowLength`: softmax rows,
 * (query, head) pairs), each row computed once: indices are sorted.
 */
function byRows(n: number, at: (i: number) => number, rowLength: number, row: (r: number) => Float64Array): Float64Array {
  const out = new Float64Array(n);
  let cached = -1;
  let values: Float64Array = new Float64Array(0);
  for (let i = 0; i < n; i++) {
    const r = Math.floor(at(i) / rowLength);
    if (r !== cached) [values, cached] = [row(r), r];
    out[i] = values[at(i) % rowLength]!;
  }
  return out;
}

/** Float64 values of the output at `indices` (every element when null), from src/reference/attention.ts. */
export function referenceAt(c: OpCase, inputs: OpInputs, indices: Uint32Array | null): Float64Array {
  const n = indices ? indices.length : outputElements(c);
  const at = (i: number) => (indices ? indices[i]! : i);
  const rowWise = (rowLength: number, row: (r: number) => Float64Array) => byRows(n, at, rowLength, row);
  if (c.op === 'matmul' && inputs.op === 'matmul') {
    // Element by element (a sampled row of a GPT-3 product would cost N times more): row m of A times column n of B.
    const { a, b } = inputs;
    return Float64Array.from({ length: n }, (_, i) => {
      const [z, m, col] = [Math.floor(at(i) / (c.M * c.N)), Math.floor(at(i) / c.N) % c.M, at(i) % c.N];
      const bz = z * c.K * c.N;
      const bCol = c.transB ? b.subarray(bz + col * c.K, bz + (col + 1) * c.K) : Float32Array.from({ length: c.K }, (_, k) => b[bz + k * c.N + col]!);
      return matmulTransB(a.subarray((z * c.M + m) * c.K, (z * c.M + m + 1) * c.K), bCol, 1, 1, c.K)[0]!;
    });
  }
  if (c.op === 'softmax' && inputs.op === 'softmax') {
    return rowWise(c.cols, (r) => {
      const visible = visibleColumns(r, c.seq, c.cols, c.causal);
      return softmaxRows(Float64Array.from(inputs.x.subarray(r * c.cols, (r + 1) * c.cols)), 1, c.cols, { causal: true, offset: visible - 1 });
    });
  }
  if (c.op === 'attention' && inputs.op === 'attention') {
    // Row r of the output is (query, head) = (r / heads, r % heads): dHead values.
    return rowWise(c.dHead, (r) => attentionRow(inputs.q, inputs.k, inputs.v, { kvSeq: c.seq, heads: c.heads, dHead: c.dHead, causal: c.causal }, Math.floor(r / c.heads), r % c.heads));
  }
  if (c.op === 'decode' && inputs.op === 'decode') {
    // Row h of the output is head h: the query row against all nKv keys.
    return rowWise(c.dHead, (h) => attentionRow(inputs.q, inputs.k, inputs.v, { kvSeq: c.nKv, heads: c.heads, dHead: c.dHead, causal: false }, 0, h));
  }
  throw new Error(`referenceAt: inputs of ${inputs.op} for a ${c.op} case`);
}

/**
 * The allowance of each element at `indices` (all when null) whose float64 values are `ref`, from the one judge:
 * λ·e of the operation's derived error estimate e, plus one f16 rounding of the stored output in f16 rows.
 */
export function allowanceAt(c: OpCase, inputs: OpInputs, indices: Uint32Array | null, ref: Float64Array, precision: BenchPrecision = 'f32'): Float64Array {
  const n = ref.length;
  const at = (i: number) => (indices ? indices[i]! : i);
  const tol = new Float64Array(n);
  if (c.op === 'matmul' && inputs.op === 'matmul') {
    const { a, b } = inputs;
    for (let i = 0; i < n; i++) {
      const [z, m, col] = [Math.floor(at(i) / (c.M * c.N)), Math.floor(at(i) / c.N) % c.M, at(i) % c.N];
      let aa = 0, bb = 0;
      for (let k = 0; k < c.K; k++) {
        aa += a[(z * c.M + m) * c.K + k]! ** 2;
        bb += (c.transB ? b[z * c.K * c.N + col * c.K + k]! : b[z * c.K * c.N + k * c.N + col]!) ** 2;
      }
      tol[i] = allowance(matmulElementError({ normProduct: Math.sqrt(aa * bb), K: c.K, dot: ref[i]! }), ref[i]!, precision);
    }
    return tol;
  }
  const rowWise = (rowLength: number, row: (r: number) => Float64Array) => byRows(n, at, rowLength, row);
  if (c.op === 'softmax' && inputs.op === 'softmax') {
    return rowWise(c.cols, (r) => {
      const visible = visibleColumns(r, c.seq, c.cols, c.causal);
      const scores = inputs.x.subarray(r * c.cols, r * c.cols + visible);
      const p = softmaxRows(Float64Array.from(scores), 1, visible, { causal: false });
      const e = softmaxRowError(scores, p, visible);
      // Masked entries: exactly 0 (allowance 0).
      return Float64Array.from({ length: c.cols }, (_, j) => (j < visible ? allowance(e[j]!, p[j]!, precision) : 0));
    });
  }
  if ((c.op === 'attention' && inputs.op === 'attention') || (c.op === 'decode' && inputs.op === 'decode')) {
    const [heads, keys, causal] = c.op === 'attention' ? [c.heads, c.seq, c.causal] : [c.heads, c.nKv, false];
    return rowWise(c.dHead, (r) => coreRowAllowance(inputs, c.dHead, heads, keys, causal, Math.floor(r / heads), r % heads, precision));
  }
  throw new Error(`allowanceAt: inputs of ${inputs.op} for a ${c.op} case`);
}

/**
 * The allowances of output row (query i, head h) of the attention core: coreError on that head's query row against
 * its keys (row i sees keys ≤ i under the mask), its scores and pattern stored at the row's precision.
 */
export function coreRowAllowance(x: { q: Float32Array; k: Float32Array; v: Float32Array }, d: number, heads: number, keys: number, causal: boolean, i: number, h: number, precision: BenchPrecision): Float64Array {
  const W = heads * d;
  const pick = (m: Float32Array, rows: number, first: number) => {
    const out = new Float64Array(rows * d);
    for (let j = 0; j < rows; j++) for (let t = 0; t < d; t++) out[j * d + t] = m[(first + j) * W + h * d + t]!;
    return out;
  };
  const q = pick(x.q, 1, i), k = pick(x.k, keys, 0), v = pick(x.v, keys, 0);
  const ref = attentionRow(x.q, x.k, x.v, { kvSeq: keys, heads, dHead: d, causal }, i, h);
  const cfg = { seq: 1, heads: 1, dHead: d, mask: causal, cross: false, precision } as AttentionConfig;
  const e = coreError(cfg, q, k, v, null, null, null, ref, undefined, keys, i);
  return e.map((en, t) => allowance(en, ref[t]!, precision));
}

/** Judges `got` (the output at `indices`, or all of it) against `ref` within `tol` (allowanceAt's). */
export function checkOutput(c: OpCase, got: ArrayLike<number>, ref: Float64Array, indices: Uint32Array | null, tol: Float64Array): Check {
  if (got.length !== ref.length) {
    return { passed: false, maxRelError: Infinity, maxAbsError: Infinity, worstRatio: Infinity, detail: `output length ${got.length}, expected ${ref.length}`, what: `wrong output length ${got.length} (expected ${ref.length})` };
  }
  const j = judge(got, ref, tol, (i) => `element ${indices ? indices[i]! : i}`);
  let [passed, detail] = [j.passed, j.detail];
  if (c.op === 'softmax' && c.causal) {
    // Masked entries must be exactly 0 (their allowance is 0; said apart for the reader).
    for (let i = 0; i < ref.length; i++) {
      const flat = indices ? indices[i]! : i;
      const r = Math.floor(flat / c.cols);
      if (flat % c.cols >= visibleColumns(r, c.seq, c.cols, true) && got[i] !== 0) {
        [passed, detail] = [false, `masked element ${flat} is ${got[i]}, not 0`];
        break;
      }
    }
  }
  const total = outputElements(c);
  return { passed, ...errorSizes(got, ref), worstRatio: j.worstRatio, detail, what: indices ? `sampled ${indices.length} of ${total}` : `all ${total}` };
}

/**
 * Reported beside the verdict: max |err| and max |err| / max(|ref|, RMS of ref) (an element small beside the output's
 * RMS measured against the RMS, where its own relative error means nothing).
 */
export function errorSizes(got: ArrayLike<number>, ref: ArrayLike<number>): { maxAbsError: number; maxRelError: number } {
  let sq = 0;
  for (let i = 0; i < ref.length; i++) sq += ref[i]! ** 2;
  const floor = Math.sqrt(sq / Math.max(1, ref.length)) || Number.MIN_VALUE;
  let maxAbsError = 0, maxRelError = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Number.isFinite(got[i]!) ? Math.abs(got[i]! - ref[i]!) : Infinity;
    maxAbsError = Math.max(maxAbsError, err);
    maxRelError = Math.max(maxRelError, err / Math.max(Math.abs(ref[i]!), floor));
  }
  return { maxAbsError, maxRelError };
}
