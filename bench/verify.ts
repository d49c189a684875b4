// Every implementation's output is checked in the run against float64 values recomputed on the CPU from the
// same inputs. Small outputs are checked element by element in full; when recomputing every element would
// cost more than FULL_CHECK_FMAS multiply-adds, SAMPLE_COUNT elements drawn at random (seeded, so every impl
// is checked at the same places) are recomputed instead: each one exactly, by src/reference/attention.ts
// applied to the rows it lies in (a whole GPT-3-sized reference would take hours in JS).
// The comparison is src/verify/compare.ts with FP32_TOLERANCE (argued there for K up to 12288 and outputs of
// order one, which bench/inputs.ts arranges); a masked softmax entry must moreover be exactly 0.

import { compare, FP32_TOLERANCE, type Tolerance } from '../src/verify/compare.js';
import { hash32 } from '../src/model/seeded.js';
import { attentionRow, matmulTransB, softmaxRows } from '../src/reference/attention.js';
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

/** Float64 values of the output at `indices` (every element when null), from src/reference/attention.ts. */
export function referenceAt(c: OpCase, inputs: OpInputs, indices: Uint32Array | null): Float64Array {
  const n = indices ? indices.length : outputElements(c);
  const at = (i: number) => (indices ? indices[i]! : i);
  // Rows (softmax rows, (query, head) pairs) computed once each: indices are sorted.
  const rowWise = (rowLength: number, row: (r: number) => Float64Array): Float64Array => {
    const out = new Float64Array(n);
    let cached = -1;
    let values: Float64Array = new Float64Array(0);
    for (let i = 0; i < n; i++) {
      const r = Math.floor(at(i) / rowLength);
      if (r !== cached) [values, cached] = [row(r), r];
      out[i] = values[at(i) % rowLength]!;
    }
    return out;
  };
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
