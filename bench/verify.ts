// Every implementation's output is checked in the run against float64 values recomputed on the CPU from the
// same inputs. Small outputs are checked element by element in full; when recomputing every element would
// cost more than FULL_CHECK_FMAS multiply-adds, SAMPLE_COUNT elements drawn at random (seeded, so every impl
// is checked at the same places) are recomputed instead: each one exactly, with the formulas of
// src/reference/attention.ts written per element (a whole GPT-3-sized reference would take hours in JS).
// The comparison is src/verify/compare.ts with FP32_TOLERANCE (argued there for K up to 12288 and outputs of
// order one, which bench/inputs.ts arranges); a masked softmax entry must moreover be exactly 0.

import { compare, FP32_TOLERANCE, type Tolerance } from '../src/verify/compare.js';
import { hash32 } from '../src/model/seeded.js';
import { outputElements, visibleColumns, type OpCase, type OpInputs } from './inputs.js';

export const FULL_CHECK_FMAS = 2 ** 25;
export const SAMPLE_COUNT = 256;

export interface Check {
  passed: boolean;
  maxRelError: number;
  maxAbsError: number;
  /** 'all 65536' or 'sampled 256 of 4194304'. */
  what: string;
}

/** Multiply-adds to recompute one output element. */
function costPerElement(c: OpCase): number {
  switch (c.op) {
    case 'matmul':
      return c.K;
    case 'softmax':
      return 3 * c.cols; // the row's max, sum and one exp each: counted per element, though rows are shared
    case 'attention':
      return 2 * c.seq * c.dHead;
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

/** Float64 values of the output at `indices` (every element when null). */
export function referenceAt(c: OpCase, inputs: OpInputs, indices: Uint32Array | null): Float64Array {
  const n = indices ? indices.length : outputElements(c);
  const at = (i: number) => (indices ? indices[i]! : i);
  const out = new Float64Array(n);
  if (c.op === 'matmul' && inputs.op === 'matmul') {
    const { a, b } = inputs;
    for (let i = 0; i < n; i++) {
      const flat = at(i);
      const batch = Math.floor(flat / (c.M * c.N));
      const m = Math.floor(flat / c.N) % c.M;
      const col = flat % c.N;
      const aRow = (batch * c.M + m) * c.K;
      const bBase = batch * c.K * c.N;
      let s = 0;
      if (c.transB) for (let k = 0; k < c.K; k++) s += a[aRow + k]! * b[bBase + col * c.K + k]!;
      else for (let k = 0; k < c.K; k++) s += a[aRow + k]! * b[bBase + k * c.N + col]!;
      out[i] = s;
    }
  } else if (c.op === 'softmax' && inputs.op === 'softmax') {
    let cached = -1;
    let row: Float64Array = new Float64Array(0);
    for (let i = 0; i < n; i++) {
      const flat = at(i);
      const r = Math.floor(flat / c.cols);
      if (r !== cached) {
        row = softmaxRow(inputs.x, r, c.cols, visibleColumns(r, c.seq, c.cols, c.causal));
        cached = r;
      }
      out[i] = row[flat % c.cols]!;
    }
  } else if (c.op === 'attention' && inputs.op === 'attention') {
    const width = c.heads * c.dHead;
    let cached = -1;
    let head: Float64Array = new Float64Array(0);
    for (let i = 0; i < n; i++) {
      const flat = at(i);
      const query = Math.floor(flat / width);
      const h = Math.floor((flat % width) / c.dHead);
      const key = query * c.heads + h;
      if (key !== cached) {
        head = attentionRow(inputs, c, query, h);
        cached = key;
      }
      out[i] = head[flat % c.dHead]!;
    }
  } else {
    throw new Error(`referenceAt: inputs of ${inputs.op} for a ${c.op} case`);
  }
  return out;
}

function softmaxRow(x: Float32Array, r: number, cols: number, visible: number): Float64Array {
  const p = new Float64Array(cols);
  const base = r * cols;
  let max = -Infinity;
  for (let j = 0; j < visible; j++) max = Math.max(max, x[base + j]!);
  let sum = 0;
  for (let j = 0; j < visible; j++) sum += p[j] = Math.exp(x[base + j]! - max);
  for (let j = 0; j < visible; j++) p[j] = p[j]! / sum;
  return p;
}

/** Output row of one query and head: softmax(q·kᵀ/√dHead)·v, [dHead]. */
export function attentionRow(x: { q: Float32Array; k: Float32Array; v: Float32Array }, c: { heads: number; seq: number; dHead: number; causal: boolean }, query: number, h: number): Float64Array {
  const width = c.heads * c.dHead;
  const col = h * c.dHead;
  const visible = c.causal ? query + 1 : c.seq;
  const scores = new Float64Array(visible);
  const scale = 1 / Math.sqrt(c.dHead);
  let max = -Infinity;
  for (let j = 0; j < visible; j++) {
    let s = 0;
    for (let d = 0; d < c.dHead; d++) s += x.q[query * width + col + d]! * x.k[j * width + col + d]!;
    scores[j] = s * scale;
    max = Math.max(max, scores[j]!);
  }
  let sum = 0;
  for (let j = 0; j < visible; j++) sum += scores[j] = Math.exp(scores[j]! - max);
  const out = new Float64Array(c.dHead);
  for (let j = 0; j < visible; j++) {
    const p = scores[j]! / sum;
    for (let d = 0; d < c.dHead; d++) out[d] = out[d]! + p * x.v[j * width + col + d]!;
  }
  return out;
}

/** Compares `got` (the output at `indices`, or all of it) with `ref`. */
export function checkOutput(c: OpCase, got: ArrayLike<number>, ref: Float64Array, indices: Uint32Array | null, tol: Tolerance = FP32_TOLERANCE): Check {
  if (got.length !== ref.length) {
    return { passed: false, maxRelError: Infinity, maxAbsError: Infinity, what: `wrong output length ${got.length} (expected ${ref.length})` };
  }
  const cmp = compare(got, ref, tol);
  let passed = cmp.passed;
  if (c.op === 'softmax' && c.causal) {
    // Masked entries must be exactly 0, not merely within atol of it.
    for (let i = 0; i < ref.length && passed; i++) {
      const flat = indices ? indices[i]! : i;
      const r = Math.floor(flat / c.cols);
      if (flat % c.cols >= visibleColumns(r, c.seq, c.cols, true) && got[i] !== 0) passed = false;
    }
  }
  const total = outputElements(c);
  return {
    passed,
    maxRelError: cmp.maxRelError,
    maxAbsError: cmp.maxAbsError,
    what: indices ? `sampled ${indices.length} of ${total}` : `all ${total}`,
  };
}
