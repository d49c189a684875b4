// Verification of a model run's two ends (RunOptions.model), beside the layers' own checks:
//   embedding: every element of the GPU's x before layer 0 against tokenEmbedding[tok] +
//     positionEmbedding[pos + offset] in float64. The GPU adds two stored values in f32 once, so
//     each element may be off by one rounding, u·|x| (u = 2⁻²⁴), and by nothing else: an
//     off-by-one position or a wrong token row is off by the size of an embedding;
//   logits: LN_f of the GPU's own last residual row and unembedding·LN_f(x) recomputed in float64,
//     every logit within λ·e, e from ./layer-bound.ts ((3) for LN_f, (1) and (2) for the product
//     over d_model with u for its f32 store): layer-local, like the exact mode's layers.
// Both compare against the tables as the GPU holds them (f16-rounded with f16 precision).

import type { AttentionConfig } from '../model/config.js';
import type { ModelTensors } from '../model/weights.js';
import { roundArrayToF16 } from '../io/half.js';
import { embed, finalLogits, type ModelTables } from '../reference/model-ends.js';
import { BOUND_LAMBDA, U32, layerNormError, projectionError, storeUnit } from './layer-bound.js';
import type { Verification } from './exact.js';

export interface EndCheck {
  name: 'embedding' | 'logits';
  passed: boolean;
  /** Worst |gpu − float64| / allowance: at most 1 passes. */
  worstRatio: number;
  maxAbsError: number;
  detail: string;
}

/** The tables as the GPU holds them: f16-rounded with f16 precision (the final LayerNorm stays f32). */
export function storedTables(cfg: AttentionConfig, t: ModelTensors): ModelTables {
  if (cfg.precision !== 'f16') return t;
  const tokenEmbedding = roundArrayToF16(t.tokenEmbedding);
  return {
    ...t, tokenEmbedding, positionEmbedding: roundArrayToF16(t.positionEmbedding),
    unembedding: t.unembedding === t.tokenEmbedding ? tokenEmbedding : roundArrayToF16(t.unembedding),
  };
}

function compareAll(name: EndCheck['name'], gpu: Float32Array, ref: ArrayLike<number>, allowed: (n: number) => number, where: (n: number) => string): EndCheck {
  if (gpu.length !== ref.length) return { name, passed: false, worstRatio: Infinity, maxAbsError: Infinity, detail: `${gpu.length} values from the GPU, ${ref.length} expected` };
  let worst = 0, at = -1, maxAbs = 0;
  for (let n = 0; n < ref.length; n++) {
    const err = Math.abs(gpu[n]! - ref[n]!);
    let ratio = err === 0 ? 0 : err / allowed(n);
    if (Number.isNaN(ratio)) ratio = Infinity;
    maxAbs = Math.max(maxAbs, Number.isNaN(err) ? Infinity : err);
    if (ratio > worst || (ratio === Infinity && at < 0)) { worst = ratio; at = n; }
  }
  return {
    name, passed: worst <= 1, worstRatio: worst, maxAbsError: maxAbs,
    detail: `all ${ref.length} recomputed in float64` + (at >= 0 ? `; worst ${worst.toPrecision(3)}× the allowance at ${where(at)} (gpu ${gpu[at]}, float64 ${Number(ref[at]).toPrecision(8)}, allowed ±${allowed(at).toExponential(2)})` : ''),
  };
}

/** x before layer 0, every element; `positionShift` plants an off-by-one offset (tests). */
export function checkEmbedding(cfg: AttentionConfig, t: ModelTensors, tokens: Uint32Array, embedded: Float32Array, positionShift = 0): EndCheck {
  const ref = embed(storedTables(cfg, t), tokens, cfg.dModel, positionShift);
  // One f32 rounding of the sum: at most u·|x| (plus the subnormal spacing near 0), allowed λ times as every
  // other check is (tolerance.ts), so a correct rounding reads ≤ 1/λ of the allowance, not a borderline 1.
  return compareAll('embedding', embedded, ref, (n) => BOUND_LAMBDA * (U32 * Math.abs(ref[n]!) + 2 ** -149),
    (n) => `token ${Math.floor(n / cfg.dModel)} (id ${tokens[Math.floor(n / cfg.dModel)]}), dim ${n % cfg.dModel}`);
}

/** The float64 logits from the last residual row of `states` [seq, dModel] and their f32 estimate e (see the header). */
export function logitsEstimate(cfg: AttentionConfig, t: ModelTensors, states: ArrayLike<number>): { logits: Float64Array; e: Float64Array } {
  const D = cfg.dModel;
  const tables = storedTables(cfg, t);
  const xLast = Float64Array.from({ length: D }, (_, d) => states[(cfg.seq - 1) * D + d]!);
  const ref = finalLogits(tables, xLast, D, cfg.lnEps);
  const exn = layerNormError(xLast, ref.xn, t.finalGain, t.finalBias, 1, D, storeUnit(cfg), cfg.lnEps);
  return { logits: ref.logits, e: projectionError(ref.xn, exn, tables.unembedding, undefined, ref.logits, 1, t.vocab, D, U32) };
}

/** The logits from the GPU's own last residual row `output` [seq, dModel]. */
export function checkLogits(cfg: AttentionConfig, t: ModelTensors, output: Float32Array, logits: Float32Array): EndCheck {
  const { logits: ref, e } = logitsEstimate(cfg, t, output);
  return compareAll('logits', logits, ref, (n) => BOUND_LAMBDA * e[n]!, (n) => `token id ${n}`);
}

/** Both checks of a finished model run; `logits` null (a stopped run) checks the embedding only. */
export function checkModelEnds(cfg: AttentionConfig, model: { tensors: ModelTensors; tokens: Uint32Array }, result: { embedded: Float32Array | null; logits: Float32Array | null; output: Float32Array }): EndCheck[] {
  const checks: EndCheck[] = [];
  if (result.embedded) checks.push(checkEmbedding(cfg, model.tensors, model.tokens, result.embedded));
  if (result.logits) checks.push(checkLogits(cfg, model.tensors, result.output, result.logits));
  return checks;
}

/**
 * The run's verification with the model's ends added (`embedding`, `logits`): the verdict passes
 * only if they pass too, and the detail says how they did. A verification that checked nothing
 * (mode none, or interrupted: passed null) keeps its null verdict, with the ends reported beside it.
 */
export function withModelEnds<V extends Verification>(v: V, checks: EndCheck[]): V & { embedding?: EndCheck; logits?: EndCheck } {
  if (checks.length === 0) return v;
  const failed = checks.filter((c) => !c.passed);
  const out: V & { embedding?: EndCheck; logits?: EndCheck } = { ...v };
  for (const c of checks) out[c.name] = c;
  if (v.passed !== null) out.passed = v.passed && failed.length === 0;
  out.detail = `${v.detail}; ${checks.map((c) => `${c.name}: ${c.passed ? 'passed' : 'FAILED'}, ${c.detail}`).join('; ')}`;
  out.worstRatio = Math.max(v.worstRatio ?? 0, ...checks.map((c) => c.worstRatio));
  return out;
}
