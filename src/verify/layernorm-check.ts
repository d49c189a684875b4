// The sampled check of a LayerNorm's output (both of a block's: LN(x) and the MLP's LN2): every row recomputed in
// float64 from the GPU's own input, which costs only O(seq·d_model).

import type { AttentionConfig } from '../model/config.js';
import { layerNorm } from '../reference/layernorm.js';
import type { SampledCheck } from './freivalds.js';
import { BOUND_LAMBDA, layerNormError, storeUnit } from './layer-bound.js';

/** LayerNorm rows (`name`: LN(x) before the attention, LN2(x) before the MLP) recomputed in float64, each element within λ·e of ./layer-bound.ts (3). */
export function checkLayerNorm(cfg: AttentionConfig, x: Float32Array, xn: Float32Array, gain: Float32Array, bias: Float32Array, name = 'LN(x)'): SampledCheck {
  const ref = layerNorm(x, cfg.seq, cfg.dModel, gain, bias, cfg.lnEps);
  const e = layerNormError(x, ref, gain, bias, cfg.seq, cfg.dModel, storeUnit(cfg), cfg.lnEps);
  let worst = 0, at = -1, maxAllowed = 0, rel = 0;
  for (let n = 0; n < ref.length; n++) {
    const allowed = BOUND_LAMBDA * e[n]!;
    maxAllowed = Math.max(maxAllowed, allowed);
    let ratio = Math.abs(xn[n]! - ref[n]!) / allowed;
    if (Number.isNaN(ratio)) ratio = Infinity;
    if (ratio > worst || (ratio === Infinity && at < 0)) { worst = ratio; at = n; }
  }
  // LN rows have RMS ≈ |gain| ≈ 1, so the relative detection bound is about the absolute one.
  for (let r = 0; r < cfg.seq; r++) {
    let s = 0;
    for (let j = 0; j < cfg.dModel; j++) s += ref[r * cfg.dModel + j]! ** 2;
    if (s > 0) rel = Math.max(rel, (2 * maxAllowed) / Math.sqrt(s));
  }
  return {
    name, passed: worst <= 1, worstRatio: worst, detectThreshold: 2 * maxAllowed, detectRelative: rel, missProbability: 0,
    detail: `all ${ref.length} elements recomputed in float64` + (at >= 0 ? `; worst ${worst.toPrecision(3)}× the allowance at token ${Math.floor(at / cfg.dModel)}, dim ${at % cfg.dModel}` : ''),
  };
}
