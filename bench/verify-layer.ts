// Sampled check of one engine layer too big for the float64 reference of the whole stack (a GPT-3 layer is
// ≈ 2.5·10¹² multiply-adds; hours in JS). Each stage is recomputed in float64 at sampled elements from the
// GPU's own inputs to that stage, read while the layer's buffers still exist (the engine's LayerProbe):
//   q, k, v   at SAMPLES (row, column) pairs:  x_in[row] · W[column], W rows regenerated from the seed
//   weighted  at ROWS (query, head) pairs, all dHead values: softmax(q·kᵀ/√dHead, causal) · v
//   output    at SAMPLES (row, column) pairs:  x_in + weighted[row] · W_O[column]
// So every stage is covered, and an error in one shows there even when the next happens to hide it.

import type { AttentionConfig } from '../src/model/config.js';
import type { LayerProbe } from '../src/model/engine.js';
import { seededArray, seededSequence, seededTensor, type Projection } from '../src/model/seeded.js';
import { attentionRow, matmulTransB } from '../src/reference/attention.js';
import { compare, FP32_TOLERANCE } from '../src/verify/compare.js';
import type { Check } from './verify.js';

const SAMPLES = 64;
const ROWS = 16;

export async function checkLayerSampled(probe: LayerProbe, cfg: AttentionConfig, seed: number): Promise<Check> {
  if (cfg.cross || cfg.bias) throw new Error('checkLayerSampled: self-attention without biases only');
  const inner = cfg.heads * cfg.dHead;
  const [x, q, k, v, weighted, out] = [
    await probe.readInput(), await probe.readQ(), await probe.readK(), await probe.readV(), await probe.readWeighted(), await probe.readOutput(),
  ];
  const next = seededSequence(seed * 104729 + probe.layer);
  const pick = (n: number) => Math.floor(next() * n);
  const got: number[] = [];
  const ref: number[] = [];
  /** Row `row` of a [rows, width] weight, regenerated; and x_row · w in float64. */
  const weightRow = (proj: Projection, row: number, width: number) => {
    const t = seededTensor(seed, probe.layer, proj, false, cfg);
    return seededArray(t.key, width, t.scale, row * width);
  };
  const dot = (a: Float32Array, at: number, w: Float32Array) => matmulTransB(a.subarray(at, at + w.length), w, 1, 1, w.length)[0]!;

  for (const [proj, result] of [['q', q], ['k', k], ['v', v]] as const) {
    for (let s = 0; s < SAMPLES; s++) {
      const row = s === 0 ? cfg.seq - 1 : pick(cfg.seq);
      const col = pick(inner);
      got.push(result[row * inner + col]!);
      ref.push(dot(x, row * cfg.dModel, weightRow(proj, col, cfg.dModel)));
    }
  }
  for (let s = 0; s < ROWS; s++) {
    const query = s === 0 ? cfg.seq - 1 : pick(cfg.seq);
    const h = pick(cfg.heads);
    const row = attentionRow(q, k, v, { kvSeq: cfg.seq, heads: cfg.heads, dHead: cfg.dHead, causal: cfg.mask }, query, h);
    for (let d = 0; d < cfg.dHead; d++) {
      got.push(weighted[query * inner + h * cfg.dHead + d]!);
      ref.push(row[d]!);
    }
  }
  for (let s = 0; s < SAMPLES; s++) {
    const row = pick(cfg.seq);
    const col = pick(cfg.dModel);
    got.push(out[row * cfg.dModel + col]!);
    ref.push(x[row * cfg.dModel + col]! + dot(weighted, row * inner, weightRow('o', col, inner)));
  }
  const cmp = compare(got, ref, FP32_TOLERANCE);
  return {
    passed: cmp.passed,
    maxRelError: cmp.maxRelError,
    maxAbsError: cmp.maxAbsError,
    what: `sampled layer ${probe.layer}: ${3 * SAMPLES} of q/k/v, ${ROWS}×${cfg.dHead} weighted sums, ${SAMPLES} outputs`,
  };
}
