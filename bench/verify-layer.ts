// Sampled check of one engine layer too big for the float64 reference of the whole stack (a GPT-3 layer is
// ≈ 2.5·10¹² multiply-adds; hours in JS). Each stage is recomputed in float64 at sampled elements from the
// GPU's own inputs to that stage, read while the layer's buffers still exist (the engine's LayerProbe):
//   q, k, v   at SAMPLES (row, column) pairs:  x_in[row] · W[column], W rows regenerated from the seed
//   weighted  at ROWS (query, head) pairs, all dHead values: softmax(q·kᵀ/√dHead, causal) · v
//   output    at SAMPLES (row, column) pairs:  x_in + weighted[row] · W_O[column]
// So every stage is covered, and an error in one shows there even when the next happens to hide it. Each element is
// judged by the one judge's derived allowance (src/verify/tolerance.ts), its inputs taken as exact (they are the
// GPU's own): a dot product's from its operands' norms, a weighted sum's from coreError (coreRowAllowance).

import type { AttentionConfig } from '../src/model/config.js';
import type { LayerProbe } from '../src/model/engine.js';
import { seededArray, seededSequence, seededTensor, type Projection } from '../src/model/seeded.js';
import { attentionRow, matmulTransB } from '../src/reference/attention.js';
import { allowance, judge, matmulElementError } from '../src/verify/tolerance.js';
import { coreRowAllowance, errorSizes, type Check } from './verify.js';

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
  const precision = cfg.precision ?? 'f32';
  const got: number[] = [];
  const ref: number[] = [];
  const tol: number[] = [];
  const where: string[] = [];
  const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
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
      const w = weightRow(proj, col, cfg.dModel);
      const r = dot(x, row * cfg.dModel, w);
      got.push(result[row * inner + col]!);
      ref.push(r);
      tol.push(allowance(matmulElementError({ normProduct: norm(x.subarray(row * cfg.dModel, (row + 1) * cfg.dModel)) * norm(w), K: cfg.dModel, dot: r }), r, precision));
      where.push(`${proj}[${row}, ${col}]`);
    }
  }
  for (let s = 0; s < ROWS; s++) {
    const query = s === 0 ? cfg.seq - 1 : pick(cfg.seq);
    const h = pick(cfg.heads);
    const row = attentionRow(q, k, v, { kvSeq: cfg.seq, heads: cfg.heads, dHead: cfg.dHead, causal: cfg.mask }, query, h);
    const rowTol = coreRowAllowance({ q, k, v }, cfg.dHead, cfg.heads, cfg.seq, cfg.mask, query, h, precision);
    for (let d = 0; d < cfg.dHead; d++) {
      got.push(weighted[query * inner + h * cfg.dHead + d]!);
      ref.push(row[d]!);
      tol.push(rowTol[d]!);
      where.push(`weighted[${query}, ${h * cfg.dHead + d}]`);
    }
  }
  for (let s = 0; s < SAMPLES; s++) {
    const row = pick(cfg.seq);
    const col = pick(cfg.dModel);
    const w = weightRow('o', col, inner);
    const start = x[row * cfg.dModel + col]!;
    const product = dot(weighted, row * inner, w);
    got.push(out[row * cfg.dModel + col]!);
    ref.push(start + product);
    // The residual stream is f32 in both precisions.
    tol.push(allowance(matmulElementError({ normProduct: norm(weighted.subarray(row * inner, (row + 1) * inner)) * norm(w), K: inner, dot: product, start }), start + product));
    where.push(`output[${row}, ${col}]`);
  }
  const j = judge(got, ref, tol, (i) => where[i]!);
  return {
    passed: j.passed,
    ...errorSizes(got, ref),
    worstRatio: j.worstRatio,
    detail: j.detail,
    what: `sampled layer ${probe.layer}: ${3 * SAMPLES} of q/k/v, ${ROWS}×${cfg.dHead} weighted sums, ${SAMPLES} outputs`,
  };
}
