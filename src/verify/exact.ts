// Exact verification, layer by layer: each layer is recomputed in float64 from the GPU's own
// input to it (the residual stream the GPU produced one layer earlier) and every output element
// is compared within a tolerance derived from that layer's magnitudes (./layer-bound.ts). One
// layer's fp32 rounding is then never blamed on the next, so the check keeps its power at any
// depth. Beside the verdict, the drift of the whole stack from an all-float64 stack is measured
// per layer: a figure (how far fp32 rounding, amplified through the layers, carried the result),
// not a verdict.

import type { AttentionConfig } from '../model/config.js';
import type { Inputs, WeightSource } from '../model/weights.js';
import { attentionLayer, seededLayerWeights, type LayerWeights } from '../reference/attention.js';
import { BOUND_LAMBDA, layerOutputError } from './layer-bound.js';
import { roundArrayToF16 } from '../io/half.js';

export type VerifyMode = 'exact' | 'sampled' | 'none';

export interface Verification {
  mode: VerifyMode;
  /** true or false when checked; null when nothing was checked (mode none). */
  passed: boolean | null;
  /** Largest |gpu − float64| over what was checked (null: nothing checked). */
  maxAbsError: number | null;
  /** Largest |gpu − float64| relative to the RMS of its layer's output. */
  maxRelError: number | null;
  /** Worst |gpu − float64| / tolerance: at most 1 passes. */
  worstRatio: number | null;
  /** How the tolerance is set, in words. */
  tolerance: string;
  /** Layers that failed (0-based). */
  failedLayers: number[];
  /** Human-readable detail: what was checked, where the worst element is. */
  detail: string;
  /** Exact mode: per layer, max |gpu − all-float64 stack| / RMS of the float64 output. */
  drift?: number[];
  /** Milliseconds spent verifying. */
  ms?: number;
}

export interface LayerExactCheck {
  layer: number;
  passed: boolean;
  worstRatio: number;
  maxAbsError: number;
  /** max |error| / RMS of the layer's float64 output. */
  maxRelError: number;
  /** Where the worst element is, its values and its allowance. */
  detail: string;
  nonFinite: number;
}

export const TOLERANCE_WORDS = `per element λ·e, e the fp32 rounding estimate of the layer from its own magnitudes (λ = ${BOUND_LAMBDA}; src/verify/layer-bound.ts)`;

const rms = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s / Math.max(1, a.length));
};

/**
 * A layer's weights for the reference: regenerated (seeded) or read again from the source, and
 * with f16 precision rounded to f16 as the GPU stores them (the LayerNorm gain and bias stay
 * f32), so the check measures the kernels, not the rounding of the weights.
 */
export async function referenceWeights(cfg: AttentionConfig, weights: WeightSource, layer: number): Promise<LayerWeights> {
  const w = weights.kind === 'seeded' ? seededLayerWeights(weights.seed, layer, cfg) : await weights.layer(layer);
  if (cfg.precision !== 'f16') return w;
  const r = (a: Float32Array | undefined) => (a ? roundArrayToF16(a) : undefined);
  return {
    ...w, q: r(w.q)!, k: r(w.k)!, v: r(w.v)!, o: r(w.o)!, qBias: r(w.qBias), kBias: r(w.kBias), vBias: r(w.vBias), oBias: r(w.oBias),
    fc1: r(w.fc1), fc1Bias: r(w.fc1Bias), fc2: r(w.fc2), fc2Bias: r(w.fc2Bias),
  };
}

/** The cross-attention context as the GPU holds it: f16-rounded with f16 precision. */
export const referenceContext = (cfg: AttentionConfig, inputs: Inputs): Float32Array | null =>
  !cfg.cross ? null : cfg.precision === 'f16' ? roundArrayToF16(inputs.context!) : inputs.context;

/** One layer: `input` is the GPU's residual stream before the layer, `output` after it. */
export function checkLayer(cfg: AttentionConfig, layer: number, w: LayerWeights, context: ArrayLike<number> | null,
  input: Float32Array, output: Float32Array): LayerExactCheck {
  const ref = attentionLayer(input, context, w, cfg);
  const e = layerOutputError(cfg, input, context, w, ref);
  const yRms = rms(ref.y) || 1;
  let worst = 0, worstAt = -1, maxAbs = 0, nonFinite = 0;
  for (let n = 0; n < output.length; n++) {
    const g = output[n]!;
    if (!Number.isFinite(g)) {
      if (nonFinite++ === 0) { worst = Infinity; worstAt = n; }
      maxAbs = Infinity;
      continue;
    }
    const err = Math.abs(g - ref.y[n]!);
    maxAbs = Math.max(maxAbs, err);
    const ratio = err / (BOUND_LAMBDA * e[n]!);
    if (ratio > worst) { worst = ratio; worstAt = n; }
  }
  const row = Math.floor(worstAt / cfg.dModel), col = worstAt % cfg.dModel;
  return {
    layer,
    passed: worst <= 1 && nonFinite === 0,
    worstRatio: worst,
    maxAbsError: maxAbs,
    maxRelError: maxAbs / yRms,
    nonFinite,
    detail: worstAt < 0 ? 'no output' :
      `worst ${worst.toPrecision(3)}× the tolerance at token ${row}, dim ${col} (gpu ${output[worstAt]}, float64 ${ref.y[worstAt]!.toPrecision(8)}, ` +
      `allowed ±${(BOUND_LAMBDA * e[worstAt]!).toExponential(2)})` + (nonFinite ? `, ${nonFinite} non-finite` : ''),
  };
}

/**
 * Verifies a stack layer by layer. `states` are the GPU's residual streams: states[0] the
 * input x, states[l + 1] the output of layer l (a run that stopped early gives fewer).
 * `signal` stops it between layers (Ctrl-C): the result then says how far it got and its
 * verdict is null, since not every layer was checked.
 */
export async function verifyExactLayers(cfg: AttentionConfig, weights: WeightSource, inputs: Inputs, states: Float32Array[],
  options: { signal?: AbortSignal; onLayer?: (check: LayerExactCheck) => void } = {}): Promise<Verification & { layers: LayerExactCheck[] }> {
  const start = performance.now();
  const layers = states.length - 1;
  const context = referenceContext(cfg, inputs);
  const checks: LayerExactCheck[] = [];
  const drift: number[] = [];
  let h64: Float64Array = Float64Array.from(inputs.x);
  for (let l = 0; l < layers; l++) {
    // A macrotask boundary per layer, so a signal handler (or the page) gets to run.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (options.signal?.aborted) {
      const partial = summarizeExact(checks, drift, performance.now() - start);
      return { ...partial, passed: null, detail: `interrupted after checking ${checks.length} of ${layers} layer(s): not verified; ${partial.detail}` };
    }
    const w = await referenceWeights(cfg, weights, l);
    const check = checkLayer(cfg, l, w, context, states[l]!, states[l + 1]!);
    checks.push(check);
    options.onLayer?.(check);
    h64 = attentionLayer(h64, context, w, cfg).y;
    drift.push(driftOf(states[l + 1]!, h64));
  }
  return summarizeExact(checks, drift, performance.now() - start);
}

/** max |gpu − float64 stack| / RMS(float64 stack); Infinity when either is not finite. */
function driftOf(gpu: Float32Array, ref: Float64Array): number {
  let max = 0;
  for (let i = 0; i < gpu.length; i++) {
    const d = Math.abs(gpu[i]! - ref[i]!);
    max = Number.isNaN(d) ? Infinity : Math.max(max, d);
  }
  return max / (rms(ref) || 1);
}

export function summarizeExact(checks: LayerExactCheck[], drift: number[], ms: number): Verification & { layers: LayerExactCheck[] } {
  const failed = checks.filter((c) => !c.passed);
  let worst: LayerExactCheck | undefined;
  for (const c of checks) if (!worst || c.worstRatio > worst.worstRatio) worst = c;
  const finiteDrift = drift.filter(Number.isFinite);
  return {
    mode: 'exact',
    passed: checks.length > 0 && failed.length === 0,
    maxAbsError: checks.reduce((m, c) => Math.max(m, c.maxAbsError), 0),
    maxRelError: checks.reduce((m, c) => Math.max(m, c.maxRelError), 0),
    worstRatio: worst?.worstRatio ?? 0,
    tolerance: TOLERANCE_WORDS,
    failedLayers: failed.map((c) => c.layer),
    detail:
      `${checks.length} layer(s), every output element against float64 recomputed from the GPU's input to the layer` +
      (worst ? `; worst: layer ${worst.layer}, ${worst.detail}` : '') +
      (failed.length ? `; FAILED in layer(s) ${failed.slice(0, 10).map((c) => c.layer).join(', ')}${failed.length > 10 ? ` and ${failed.length - 10} more` : ''}` : '') +
      (drift.length ? `; drift from an all-float64 stack: ${fmt(drift[drift.length - 1]!)} of the output RMS after the last layer (max ${fmt(Math.max(0, ...finiteDrift))})` : ''),
    drift,
    ms,
    layers: checks,
  };
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toExponential(2) : String(x));
