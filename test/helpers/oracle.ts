// The outside oracle (numpy's golden files, test/golden) against the float64 reference, decided by the one judge
// (src/verify/tolerance.ts, oracleAllowance): one step at a time (a layer, the embedding, the logits), the reference
// recomputes it from numpy's stored state before it, with the tensors the project's loader read, and numpy's stored
// state after it must lie within the allowance, every element. The files are made so that this is layer-local
// (each stored state computed from the one before it as stored: test/golden/README.md).

import type { AttentionConfig } from '../../src/model/config.js';
import type { LayerWeights } from '../../src/reference/attention.js';
import type { ModelTensors } from '../../src/model/weights.js';
import { attentionLayer } from '../../src/reference/attention.js';
import { embed } from '../../src/reference/model-ends.js';
import { layerOutputError } from '../../src/verify/layer-bound.js';
import { logitsEstimate } from '../../src/verify/model-ends.js';
import { BOUND_LAMBDA, judge, oracleAllowance, U32, type Judgement } from '../../src/verify/tolerance.js';

/** Neither side stores an intermediate as f16: the estimate's store units are f32's. */
export const asF32 = (cfg: AttentionConfig): AttentionConfig => ({ ...cfg, precision: 'f32' });

/** `ours` (float64) against numpy's `stored`, each element within oracleAllowance of its f32 estimate `e`. */
export function judgeOracle(ours: ArrayLike<number>, stored: ArrayLike<number>, e: ArrayLike<number>, at: (n: number) => string): Judgement {
  if (ours.length !== stored.length) return { passed: false, worstIndex: -1, worstRatio: Infinity, detail: `${ours.length} values, numpy stored ${stored.length}` };
  const tol = Float64Array.from(stored, (s, n) => oracleAllowance(s, e[n]!));
  return judge(ours, stored, tol, at);
}

const atToken = (cfg: AttentionConfig) => (n: number): string => `token ${Math.floor(n / cfg.dModel)}, dim ${n % cfg.dModel}`;

/** One layer from numpy's state `before` against numpy's state `after`. */
export function oracleLayer(cfg: AttentionConfig, w: LayerWeights, context: ArrayLike<number> | null, before: ArrayLike<number>, after: ArrayLike<number>): Judgement {
  const c = asF32(cfg);
  const ref = attentionLayer(before, context, w, c);
  return judgeOracle(ref.y, after, layerOutputError(c, before, context, w, ref), atToken(cfg));
}

/**
 * A GPU layer's output `gpu` from numpy's own state `before` (the first layer's input, given to both) directly against
 * numpy's `after`: the GPU within λ·e of the float64 layer (the judge), which is within oracleAllowance of numpy's.
 */
export function gpuAgainstOracle(cfg: AttentionConfig, w: LayerWeights, context: ArrayLike<number> | null, before: ArrayLike<number>,
  gpu: ArrayLike<number>, after: ArrayLike<number>): Judgement {
  const ref = attentionLayer(before, context, w, cfg);
  const e = layerOutputError(cfg, before, context, w, ref);
  const e64 = layerOutputError(asF32(cfg), before, context, w, ref);
  const tol = Float64Array.from(after, (s, n) => BOUND_LAMBDA * e[n]! + oracleAllowance(s, e64[n]!));
  return judge(gpu, after, tol, atToken(cfg));
}

/** The embedding of `tokens` against numpy's `embedded`: one add, e = u·|x|. */
export function oracleEmbedding(cfg: AttentionConfig, t: ModelTensors, tokens: ArrayLike<number>, embedded: ArrayLike<number>): Judgement {
  const x = embed(t, tokens, cfg.dModel);
  return judgeOracle(x, embedded, x.map((v) => U32 * Math.abs(v)), atToken(cfg));
}

/** The logits from numpy's last state `states` [seq, dModel] against numpy's `logits`. */
export function oracleLogits(cfg: AttentionConfig, t: ModelTensors, states: ArrayLike<number>, logits: ArrayLike<number>): Judgement {
  const { logits: ref, e } = logitsEstimate(asF32(cfg), t, states);
  return judgeOracle(ref, logits, e, (n) => `token id ${n}`);
}
