// The operations the benchmark times, and their inputs: generated from a seed by the same counter-based
// generator the engine uses (src/model/seeded.ts), so the main process, the onnxruntime child process and the
// float64 check all see bit-identical inputs without copying hundreds of megabytes between processes.

import { seededArray, streamKey } from '../src/model/seeded.js';

/**
 * matmul: C = A·B (B [batch, K, N]) or A·Bᵀ (B [batch, N, K]), A [batch, M, K], batches stored one after
 *   another. With `pattern`, A is a causal attention pattern (row i: positive weights summing to 1 over
 *   columns j ≤ i, zeros after; M = K), as in the weighted sums pattern·V.
 * softmax: row-wise over [rows, cols]; with `causal`, row r (query r % seq) sees columns j ≤ r % seq.
 * attention: q, k, v [seq, heads·dHead]; per head softmax(q_h·k_hᵀ/√dHead, causal)·v_h, heads side by side.
 * decode: one decode step: q [heads·dHead] (the new token's query row), k, v [nKv, heads·dHead] (every cached
 *   key and value, the new token's last); per head softmax(q_h·k_hᵀ/√dHead)·v_h (no mask: the cache holds
 *   exactly what the token sees). Our kernel reads k and v as a [heads, nKv, dHead] cache (bench/ours-decode.ts).
 */
export type OpCase =
  | { op: 'matmul'; M: number; N: number; K: number; batch: number; transB: boolean; pattern: boolean }
  | { op: 'softmax'; rows: number; cols: number; seq: number; causal: boolean }
  | { op: 'attention'; heads: number; seq: number; dHead: number; causal: boolean }
  | { op: 'decode'; heads: number; nKv: number; dHead: number };

export type OpInputs =
  | { op: 'matmul'; a: Float32Array; b: Float32Array }
  | { op: 'softmax'; x: Float32Array }
  | { op: 'attention'; q: Float32Array; k: Float32Array; v: Float32Array }
  | { op: 'decode'; q: Float32Array; k: Float32Array; v: Float32Array };

/** Scores are U(−4, 4): peaked enough that softmax is not nearly uniform, as in a trained model. */
export const SOFTMAX_INPUT_SCALE = 4;

const STREAM = { a: 101, b: 102, x: 103, q: 104, k: 105, v: 106 } as const;

export function outputElements(c: OpCase): number {
  switch (c.op) {
    case 'matmul':
      return c.batch * c.M * c.N;
    case 'softmax':
      return c.rows * c.cols;
    case 'attention':
      return c.seq * c.heads * c.dHead;
    case 'decode':
      return c.heads * c.dHead;
  }
}

/** Visible query-key pairs of one head (all of them without the mask). */
export const causalPairs = (seq: number, causal: boolean): number => (causal ? (seq * (seq + 1)) / 2 : seq * seq);

/** Columns row r may see. */
export const visibleColumns = (row: number, seq: number, cols: number, causal: boolean): number =>
  causal ? Math.min(cols, (row % seq) + 1) : cols;

export function makeInputs(c: OpCase, seed: number): OpInputs {
  const gen = (stream: number, n: number, scale: number) => seededArray(streamKey(seed, stream), n, scale);
  switch (c.op) {
    case 'matmul': {
      const a = c.pattern ? causalPattern(c, gen(STREAM.a, c.batch * c.M * c.K, 1)) : gen(STREAM.a, c.batch * c.M * c.K, 1);
      // B scaled by 1/√K (1 for a pattern, whose rows already sum to 1) keeps outputs of order one, as a layer's
      // projections are.
      const b = gen(STREAM.b, c.batch * c.K * c.N, c.pattern ? 1 : 1 / Math.sqrt(c.K));
      return { op: 'matmul', a, b };
    }
    case 'softmax': {
      const x = gen(STREAM.x, c.rows * c.cols, SOFTMAX_INPUT_SCALE);
      // Masked scores are −∞ in the input: what a library without a causal softmax is given (its exp gives
      // exactly 0 there). Our kernel never reads them.
      if (c.causal) {
        for (let r = 0; r < c.rows; r++) x.fill(-Infinity, r * c.cols + visibleColumns(r, c.seq, c.cols, true), (r + 1) * c.cols);
      }
      return { op: 'softmax', x };
    }
    case 'attention': {
      const n = c.seq * c.heads * c.dHead;
      return { op: 'attention', q: gen(STREAM.q, n, 1), k: gen(STREAM.k, n, 1), v: gen(STREAM.v, n, 1) };
    }
    case 'decode': {
      const w = c.heads * c.dHead;
      return { op: 'decode', q: gen(STREAM.q, w, 1), k: gen(STREAM.k, c.nKv * w, 1), v: gen(STREAM.v, c.nKv * w, 1) };
    }
  }
}

/** Turns uniform values in [−1, 1) into a causal pattern in place: |u| + 2⁻⁸ on j ≤ i, normalised; 0 after. */
function causalPattern(c: { batch: number; M: number; K: number }, u: Float32Array): Float32Array {
  for (let row = 0; row < c.batch * c.M; row++) {
    const i = row % c.M;
    const base = row * c.K;
    const visible = Math.min(c.K, i + 1);
    let sum = 0;
    for (let j = 0; j < visible; j++) sum += Math.abs(u[base + j]!) + 2 ** -8;
    for (let j = 0; j < c.K; j++) u[base + j] = j < visible ? (Math.abs(u[base + j]!) + 2 ** -8) / sum : 0;
  }
  return u;
}

/** Work counted for TFLOP/s: 2 per useful multiply-add (masked pairs are not useful work); the same for every impl. */
export function opFlops(c: OpCase): number {
  switch (c.op) {
    case 'matmul':
      // A pattern's row i has i + 1 non-zero weights: only those products count.
      return c.pattern ? 2 * c.batch * causalPairs(c.M, true) * c.N : 2 * c.batch * c.M * c.N * c.K;
    case 'softmax':
      return 0; // memory-bound: reported in GB/s only
    case 'attention':
      return 4 * c.heads * causalPairs(c.seq, c.causal) * c.dHead; // scores and weighted sums
    case 'decode':
      return 0; // 2 FLOPs per byte of the cache read: memory-bound, reported in GB/s against the copy probe
  }
}

/**
 * Bytes for GB/s: compulsory traffic, each input read once and each output written once, 4 bytes per fp32
 * value. (Intermediates such as the attention pattern are not counted: an implementation that keeps them
 * on chip needs none.) The same formula for every impl.
 */
export function opBytes(c: OpCase): number {
  switch (c.op) {
    case 'matmul':
      return 4 * c.batch * (c.M * c.K + c.K * c.N + c.M * c.N);
    case 'softmax':
      return 4 * 2 * c.rows * c.cols;
    case 'attention':
      return 4 * 4 * c.seq * c.heads * c.dHead;
    case 'decode':
      return 4 * (2 * c.nKv + 2) * c.heads * c.dHead; // every cached key and value, the query, the output
  }
}

export function describeShape(c: OpCase): string {
  switch (c.op) {
    case 'matmul': {
      const lead = c.batch > 1 ? `${c.batch}×` : '';
      return `${lead}[${c.M}×${c.K}]·[${c.transB ? `${c.N}×${c.K}]ᵀ` : `${c.K}×${c.N}]`}${c.pattern ? ' causal' : ''}`;
    }
    case 'softmax':
      return `[${c.rows}×${c.cols}]${c.causal ? ' causal' : ''}`;
    case 'attention':
      return `${c.heads}h n=${c.seq} d=${c.dHead}${c.causal ? ' causal' : ''}`;
    case 'decode':
      return `${c.heads}h n_kv=${c.nKv} d=${c.dHead}`;
  }
}
