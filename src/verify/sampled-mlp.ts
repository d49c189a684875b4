// Sampled verification of a layer's MLP (block 'full') from the GPU's own intermediates, in the
// manner of ./sampled.ts for the attention:
//   LN2(m): recomputed in float64 for every row from the GPU's m (x after the attention);
//   h = act(LN2(m)·fc1ᵀ + b1): sampled columns of h (fc1 rows) recomputed exactly for every
//     token from the GPU's LN2(m), within λ·e (./layer-bound.ts: the dot's rounding through the
//     activation's slope, the activation's own, the store); the activation is not linear, so
//     Freivalds cannot check this product;
//   x_out = m + h·fc2ᵀ + b2: Freivalds on every row (./freivalds.ts), K = ffn.

import type { AttentionConfig } from '../model/config.js';
import { seededArray, seededMlpLayerNorm, seededMlpTensor, hash32, type MlpTensorName } from '../model/seeded.js';
import type { WeightSource } from '../model/weights.js';
import { roundArrayToF16 } from '../io/half.js';
import { activate } from '../reference/mlp.js';
import { BOUND_LAMBDA, U32, activationError, storeUnit } from './layer-bound.js';
import { freivalds, type SampledCheck, type WeightRows } from './freivalds.js';
import { dotError } from './tolerance.js';
import { seededRow, seededRowF16 } from '../random.js';
import { checkLayerNorm } from './layernorm-check.js';

export interface MlpSource {
  ln: { gain: Float32Array; bias: Float32Array };
  /** Row f of fc1 [ffn, dModel] as float64 (f16-rounded with f16 precision). */
  fc1Row(f: number): Float64Array;
  fc1Bias: Float32Array;
  fc2: WeightRows;
  fc2Bias: Float32Array;
}

/** The layer's MLP weights as the GPU holds them: regenerated (seeded, nothing materialized) or read again. */
export async function mlpSource(cfg: AttentionConfig, layer: number, weights: WeightSource): Promise<MlpSource> {
  const half = cfg.precision === 'f16';
  const r = (a: Float32Array) => (half ? roundArrayToF16(a) : a);
  const D = cfg.dModel;
  if (weights.kind === 'tensors') {
    const t = await weights.layer(layer);
    if (!t.fc1 || !t.fc1Bias || !t.fc2 || !t.fc2Bias || !t.mlpLnGain || !t.mlpLnBias) throw new Error(`layer ${layer}: block full without MLP tensors`);
    const fc1 = r(t.fc1);
    return {
      ln: { gain: t.mlpLnGain, bias: t.mlpLnBias },
      fc1Row: (f) => Float64Array.from(fc1.subarray(f * D, (f + 1) * D)),
      fc1Bias: r(t.fc1Bias), fc2: { kind: 'tensor', data: r(t.fc2) }, fc2Bias: r(t.fc2Bias),
    };
  }
  const tensor = (name: MlpTensorName, isBias: boolean) => seededMlpTensor(weights.seed, layer, name, isBias, cfg);
  const bias = (name: MlpTensorName) => {
    const t = tensor(name, true);
    return r(seededArray(t.key, t.count, t.scale));
  };
  const fc1 = tensor('fc1', false), fc2 = tensor('fc2', false);
  return {
    ln: seededMlpLayerNorm(weights.seed, layer, D),
    fc1Row: (f) => {
      const out = new Float64Array(D);
      (half ? seededRowF16 : seededRow)(fc1.key, fc1.scale, f * D, out, D);
      return out;
    },
    fc1Bias: bias('fc1'), fc2: { kind: 'seeded', key: fc2.key, scale: fc2.scale, f16: half }, fc2Bias: bias('fc2'),
  };
}

/** Columns of h the up-projection check recomputes: all when `count` covers them, else drawn from the seed (first and last always). */
export function sampleColumns(ffn: number, count: number, key: number): number[] {
  if (count >= ffn) return Array.from({ length: ffn }, (_, f) => f);
  const taken = new Set<number>([0, ffn - 1]);
  for (let draw = 0; taken.size < count; draw++) taken.add(hash32((key + draw) >>> 0) % ffn);
  return [...taken].sort((a, b) => a - b);
}

/** h's sampled columns: act(xn·fc1_fᵀ + b1_f) in float64 for every token, from the GPU's LN2(m). */
export function checkMlpUp(cfg: AttentionConfig, xn: Float32Array, hidden: Float32Array, src: MlpSource, columns: number[]): SampledCheck {
  const { seq, dModel: D, ffn: F } = cfg;
  const uStore = storeUnit(cfg);
  const xNorm = new Float64Array(seq);
  for (let i = 0; i < seq; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += xn[i * D + d]! ** 2;
    xNorm[i] = Math.sqrt(s);
  }
  let worst = 0, worstAt = '', maxAllowed = 0;
  for (const f of columns) {
    const w = src.fc1Row(f);
    let wNorm = 0;
    for (let d = 0; d < D; d++) wNorm += w[d]! ** 2;
    wNorm = Math.sqrt(wNorm);
    for (let i = 0; i < seq; i++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += xn[i * D + d]! * w[d]!;
      const z = dot + src.fc1Bias[f]!;
      const ref = activate(cfg.activation, z);
      // (1) for the dot, u·|z| for the bias add; the GPU's LN2(m) is the input, exact here.
      const ez = dotError(xNorm[i]! * wNorm, D, dot) + U32 * Math.abs(z);
      const allowed = BOUND_LAMBDA * (activationError(cfg.activation, z, ez) + uStore * Math.abs(ref));
      maxAllowed = Math.max(maxAllowed, allowed);
      const gpu = hidden[i * F + f]!;
      let ratio = Math.abs(gpu - ref) / allowed;
      if (Number.isNaN(ratio)) ratio = Infinity;
      if (ratio > worst || (ratio === Infinity && !worstAt)) {
        worst = ratio;
        worstAt = `token ${i}, column ${f} (gpu ${gpu}, float64 ${ref.toPrecision(8)}, allowed ±${allowed.toExponential(2)})`;
      }
    }
  }
  return {
    name: `MLP up h = ${cfg.activation}(LN2·fc1ᵀ + b1)`,
    passed: worst <= 1,
    worstRatio: worst,
    detectThreshold: 2 * maxAllowed,
    detectRelative: 0,
    // An error confined to columns not sampled is not seen.
    missProbability: 1 - columns.length / F,
    detail: `${columns.length} of ${F} columns of h recomputed in float64 for all ${seq} tokens` + (worstAt ? `; worst ${worst.toPrecision(3)}× the allowance at ${worstAt}` : ''),
  };
}

/**
 * The MLP's three checks from the probe's read-backs: m (x after the attention), LN2(m), h, x_out.
 * Where the engine computed the hidden a block of tokens at a time, the run keeps a copy of every
 * block (src/model/plan.ts keepsEveryHiddenBlock); where it could not (an odd f16 width), only the last
 * block is there: the hidden's two checks cover those tokens (the detail says which), LN2 every token.
 */
export function checkMlpSampled(cfg: AttentionConfig, src: MlpSource,
  reads: { mid: Float32Array; xn: Float32Array; hidden: { firstRow: number; rows: number; data: Float32Array }; out: Float32Array },
  options: { key: number; columns: number; vectors: number; lambda: number }): SampledCheck[] {
  const { firstRow, rows, data } = reads.hidden;
  const D = cfg.dModel;
  const span = (a: Float32Array) => a.subarray(firstRow * D, (firstRow + rows) * D);
  const part = { ...cfg, seq: rows };
  const tokens = rows < cfg.seq ? ` (tokens ${firstRow}..${firstRow + rows}, the last block of the hidden)` : '';
  const up = checkMlpUp(part, span(reads.xn), data, src, sampleColumns(cfg.ffn, options.columns, options.key));
  const down = freivalds({
    name: 'x_out = x + h·fc2ᵀ + b2', a: data, c: span(reads.out), M: rows, N: D, K: cfg.ffn, w: src.fc2, bias: src.fc2Bias,
    residual: span(reads.mid), key: (options.key ^ 0x2545f491) >>> 0, vectors: options.vectors, lambda: options.lambda,
  });
  up.detail += tokens;
  down.detail += tokens;
  return [checkLayerNorm(cfg, reads.mid, reads.xn, src.ln.gain, src.ln.bias, 'LN2(x)'), up, down];
}
