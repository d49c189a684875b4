// Exact verification: the whole stack recomputed in float64 on the CPU from the same weights
// and inputs, compared element by element. For small shapes; GPT-3 scale uses sampled checks.

import type { AttentionConfig } from '../model/config.js';
import type { Inputs, WeightSource } from '../model/weights.js';
import { attentionLayer, seededLayerWeights, type LayerWeights } from '../reference/attention.js';
import { compare, FP32_TOLERANCE, type Comparison, type Tolerance } from './compare.js';

export interface Verification {
  mode: 'exact' | 'sampled' | 'none';
  maxAbsError: number;
  maxRelError: number;
  tolerance: Tolerance;
  passed: boolean;
  /** Human-readable detail: what was checked. */
  detail: string;
}

export async function referenceOutput(cfg: AttentionConfig, weights: WeightSource, inputs: Inputs, layers = cfg.layers): Promise<Float64Array> {
  let h: Float64Array = Float64Array.from(inputs.x);
  const context = inputs.context ? Float64Array.from(inputs.context) : null;
  for (let l = 0; l < layers; l++) {
    const w: LayerWeights = weights.kind === 'seeded' ? seededLayerWeights(weights.seed, l, cfg) : await weights.layer(l);
    h = attentionLayer(h, context, w, cfg).y;
  }
  return h;
}

export async function verifyExact(
  cfg: AttentionConfig,
  weights: WeightSource,
  inputs: Inputs,
  output: Float32Array,
  tolerance: Tolerance = FP32_TOLERANCE,
  layers = cfg.layers,
): Promise<Verification & { comparison: Comparison }> {
  const ref = await referenceOutput(cfg, weights, inputs, layers);
  const c = compare(output, ref, tolerance);
  return {
    mode: 'exact',
    maxAbsError: c.maxAbsError,
    maxRelError: c.maxRelError,
    tolerance,
    passed: c.passed,
    detail: `${c.count} outputs against the float64 CPU reference; worst at index ${c.worstIndex}${c.nonFinite ? `, ${c.nonFinite} non-finite` : ''}`,
    comparison: c,
  };
}
