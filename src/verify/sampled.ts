// Sampled verification of one layer from the GPU's own intermediate results (the probe's
// read-backs), for shapes where exact float64 recomputation takes hours (GPT-3: 4·1.9 T
// multiply-adds per layer). Every stage is checked given its GPU inputs, so a layer passes
// only if each stage is consistent with the one before it:
//   Q = x·W_Qᵀ (+b), K = c·W_Kᵀ (+b), V = c·W_Vᵀ (+b), x_out = x + A·W_Oᵀ (+b):
//     Freivalds (./freivalds.ts) on every row, weights regenerated (seeded) or streamed;
//   attention core A = softmax(q·kᵀ/√dHead)·v: exact float64 recomputation of sampled
//     (query row, head) pairs from the GPU's q, k, v, compared with the GPU's A.
// The random vectors and samples come from a verification seed, independent of the weights.

import { innerWidth, type AttentionConfig } from '../model/config.js';
import type { LayerProbe } from '../model/engine.js';
import { freshSeed, hash32, seededArray, seededLayerNorm, seededTensor, streamKey, type Projection } from '../model/seeded.js';
import type { LayerTensors, WeightSource } from '../model/weights.js';
import type { Verification } from './exact.js';
import { BOUND_LAMBDA, coreError, storeUnit } from './layer-bound.js';
import { roundArrayToF16 } from '../io/half.js';
import { attentionRow } from '../reference/attention.js';
import { DEFAULT_LAMBDA, freivalds, type SampledCheck, type WeightRows } from './freivalds.js';
import { checkMlpSampled, mlpSource } from './sampled-mlp.js';
import { checkLayerNorm } from './layernorm-check.js';

// The LN(x) check, where its tests and callers have always found it.
export { checkLayerNorm };

export type { SampledCheck } from './freivalds.js';
/** Where the layer's weights come from: the run's own WeightSource. */
export type LayerWeightsSource = WeightSource;

export interface LayerVerification {
  layer: number;
  passed: boolean;
  checks: SampledCheck[];
  /** Largest |gpu − float64| over the recomputed attention-core elements. */
  maxError: number;
  /** Largest |gpu − float64| / max(|float64|, atol) over the same elements. */
  maxRelError: number;
  ms: number;
}

export interface SampledOptions {
  /** Freivalds vectors per matmul (rounded up to a multiple of 4); default 4. */
  vectors?: number;
  /** (query row, head) pairs recomputed exactly per layer; default 64. Also the MLP's columns of h (block 'full'). */
  samples?: number;
  /** Verification seed; default random (reported in the detail so a failure can be replayed). */
  seed?: number;
  /** Freivalds tolerance factor λ; default 32. */
  lambda?: number;
}

export const SAMPLED_DEFAULTS = Object.freeze({ vectors: 4, samples: 64, lambda: DEFAULT_LAMBDA });

/** Distinct stream numbers for the verification's randomness, far from the weights' 16 + 8·layer + slot. */
const VERIFY_STREAM = 1 << 24;
const verifyKey = (seed: number, layer: number, slot: number): number =>
  streamKey(hash32((seed ^ 0x5bd1e995) >>> 0), VERIFY_STREAM + 8 * layer + slot);

export interface SamplePair {
  row: number;
  head: number;
}

/**
 * The (query row, head) pairs the core check recomputes: every pair when `count` covers them
 * all; otherwise query row 0 (the fewest visible keys when causal) and the last row (the most),
 * then rows drawn from the seed, heads taken in turn from a random start so all are spread.
 */
export function samplePairs(cfg: AttentionConfig, count: number, seed: number, layer: number): SamplePair[] {
  const total = cfg.seq * cfg.heads;
  const pairs: SamplePair[] = [];
  if (count >= total) {
    for (let head = 0; head < cfg.heads; head++) for (let row = 0; row < cfg.seq; row++) pairs.push({ row, head });
    return pairs;
  }
  const key = verifyKey(seed, layer, 7);
  const taken = new Set<number>();
  const perHead = new Uint32Array(cfg.heads);
  const h0 = hash32(key) % cfg.heads;
  let draw = 1;
  for (let s = 0; pairs.length < count; s++) {
    const head = (h0 + s) % cfg.heads;
    if (perHead[head] === cfg.seq) continue; // this head's rows are all taken
    let row = s === 0 ? 0 : s === 1 ? cfg.seq - 1 : hash32((key + draw++) >>> 0) % cfg.seq;
    while (taken.has(row * cfg.heads + head)) row = hash32((key + draw++) >>> 0) % cfg.seq;
    taken.add(row * cfg.heads + head);
    perHead[head]!++;
    pairs.push({ row, head });
  }
  return pairs;
}

/**
 * Exact float64 softmax(q_i·k_hᵀ/√dHead)·v_h for each pair from the GPU's own q, k, v,
 * compared with the GPU's weighted sums at [row, head·dHead …) within λ·e, e the core's fp32
 * rounding estimate from these magnitudes (./layer-bound.ts: scores, exp, sums), so the check
 * keeps the same relative power however large the residual stream has grown.
 * Query i sees keys j ≤ i + (kvSeq − seq) under the causal mask.
 */
export function checkAttentionCore(
  cfg: AttentionConfig,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  weighted: Float32Array,
  pairs: SamplePair[],
): SampledCheck & { maxAbsError: number; maxRelError: number } {
  const { dHead } = cfg;
  const width = innerWidth(cfg);
  const ref = new Float64Array(weighted.length);
  for (const { row, head } of pairs) {
    const one = attentionRow(q, k, v, { kvSeq: cfg.kvSeq, heads: cfg.heads, dHead, causal: cfg.mask && !cfg.cross, causalOffset: cfg.kvSeq - cfg.seq }, row, head);
    ref.set(one, row * width + head * dHead);
  }
  const e = coreError(cfg, q, k, v, null, null, null, ref, pairs);
  let worst = 0, maxAbs = 0, maxRel = 0, relDetect = 0, maxAllowed = 0;
  let worstAt = '';
  for (const { row, head } of pairs) {
    const o = row * width + head * dHead;
    let norm2 = 0;
    for (let d = 0; d < dHead; d++) norm2 += ref[o + d]! ** 2;
    const norm = Math.sqrt(norm2);
    for (let d = 0; d < dHead; d++) {
      const gpu = weighted[o + d]!;
      const allowed = BOUND_LAMBDA * e[o + d]!;
      const err = Math.abs(gpu - ref[o + d]!);
      let ratio = err === 0 ? 0 : err / allowed;
      if (Number.isNaN(ratio)) ratio = Infinity; // NaN from the GPU (or an unwritten element) fails
      maxAbs = Math.max(maxAbs, Number.isFinite(err) ? err : Infinity);
      maxRel = Math.max(maxRel, Number.isFinite(err) ? err / (norm || 1) : Infinity);
      if (norm > 0) relDetect = Math.max(relDetect, (2 * allowed) / norm);
      maxAllowed = Math.max(maxAllowed, allowed);
      if (ratio > worst || (ratio === Infinity && !worstAt)) {
        worst = ratio;
        worstAt = `row ${row} head ${head} dim ${d} (gpu ${gpu}, ref ${ref[o + d]!.toPrecision(8)}, allowed ±${allowed.toExponential(2)})`;
      }
    }
  }
  const total = cfg.seq * cfg.heads;
  return {
    name: 'attention core',
    passed: worst <= 1,
    worstRatio: worst,
    detectThreshold: 2 * maxAllowed,
    detectRelative: relDetect,
    // One wrong (row, head) block is seen only if it was sampled.
    missProbability: 1 - pairs.length / total,
    detail:
      `${pairs.length} of ${total} (query row, head) pairs recomputed in float64 (tolerance ${BOUND_LAMBDA}·e from their magnitudes)` +
      (worstAt ? `; worst ${worst.toPrecision(3)}× the allowance at ${worstAt}` : ''),
    maxAbsError: maxAbs,
    maxRelError: maxRel,
  };
}

/** Weights of one layer as Freivalds rows, plus biases: seeded keys (nothing materialized) or tensors. */
async function layerSource(cfg: AttentionConfig, layer: number, weights: WeightSource) {
  // With f16 precision the GPU holds every weight and bias rounded to f16: so does the check.
  const half = cfg.precision === 'f16';
  const r = (a: Float32Array | undefined) => (a && half ? roundArrayToF16(a) : a);
  if (weights.kind === 'tensors') {
    const t: LayerTensors = await weights.layer(layer);
    const rows = (p: Projection): WeightRows => ({ kind: 'tensor', data: r(t[p])! });
    const bias = { q: r(t.qBias), k: r(t.kBias), v: r(t.vBias), o: r(t.oBias) };
    const ln = t.lnGain && t.lnBias ? { gain: t.lnGain, bias: t.lnBias } : null;
    return { rows, bias: (p: Projection) => (cfg.bias ? bias[p] ?? null : null), ln };
  }
  const rows = (p: Projection): WeightRows => {
    const t = seededTensor(weights.seed, layer, p, false, cfg);
    return { kind: 'seeded', key: t.key, scale: t.scale, f16: half };
  };
  const bias = (p: Projection) => {
    if (!cfg.bias) return null;
    const t = seededTensor(weights.seed, layer, p, true, cfg);
    return r(seededArray(t.key, t.count, t.scale))!;
  };
  return { rows, bias, ln: cfg.norm === 'layernorm' ? seededLayerNorm(weights.seed, layer, cfg.dModel) : null };
}

/**
 * Verifies one layer right after the GPU ran it (call from RunOptions.onLayer, with the run
 * option keepLayerInput: true). `context` is the cross-attention context, null otherwise.
 * For a 'tensors' source the layer's tensors are requested again: cache them if that is costly.
 * Read-backs are fetched as the checks need them (GPT-3: 100 MB each, six in all).
 */
export async function verifyLayerSampled(
  cfg: AttentionConfig,
  layer: number,
  probe: LayerProbe,
  weights: WeightSource,
  context: Float32Array | null,
  options: SampledOptions = {},
): Promise<LayerVerification> {
  const start = performance.now();
  const vectors = options.vectors ?? SAMPLED_DEFAULTS.vectors;
  const samples = options.samples ?? SAMPLED_DEFAULTS.samples;
  const lambda = options.lambda ?? SAMPLED_DEFAULTS.lambda;
  const seed = (options.seed ?? freshSeed()) >>> 0;
  const inner = innerWidth(cfg);
  if (cfg.cross && (!context || context.length !== cfg.kvSeq * cfg.dModel)) {
    throw new Error(`sampled verification of cross-attention needs the context [${cfg.kvSeq}, ${cfg.dModel}]`);
  }
  let x: Float32Array;
  try {
    x = await probe.readInput();
  } catch (e) {
    throw new Error(`sampled verification needs each layer's input: run with keepLayerInput: true (${(e as Error).message})`);
  }
  const src = await layerSource(cfg, layer, weights);
  const checks: SampledCheck[] = [];
  // With LayerNorm the projections read the GPU's LN(x): checked whole (it is cheap), then used.
  let xn = x;
  if (cfg.norm === 'layernorm') {
    if (!src.ln) throw new Error(`layer ${layer}: norm layernorm without LayerNorm parameters`);
    xn = await probe.readNormed();
    checks.push(checkLayerNorm(cfg, x, xn, src.ln.gain, src.ln.bias));
  }
  const c = cfg.cross ? (cfg.precision === 'f16' ? roundArrayToF16(context!) : context!) : xn;
  const input = cfg.norm === 'layernorm' ? 'LN(x)' : 'x';
  const check = (name: string, slot: number, p: Projection, a: Float32Array, out: Float32Array, M: number, N: number, K: number, residual: Float32Array | null = null) =>
    freivalds({ name, a, c: out, M, N, K, w: src.rows(p), bias: src.bias(p), residual, key: verifyKey(seed, layer, slot), vectors, lambda,
      storeUnit: p === 'o' ? undefined : storeUnit(cfg) });

  const pairs = samplePairs(cfg, samples, seed, layer);
  const q = await probe.readQ();
  checks.push(check(`Q = ${input}·W_Qᵀ`, 0, 'q', xn, q, cfg.seq, inner, cfg.dModel));
  const k = await probe.readK();
  checks.push(check(`K = ${cfg.cross ? 'context' : input}·W_Kᵀ`, 1, 'k', c, k, cfg.kvSeq, inner, cfg.dModel));
  const v = await probe.readV();
  checks.push(check(`V = ${cfg.cross ? 'context' : input}·W_Vᵀ`, 2, 'v', c, v, cfg.kvSeq, inner, cfg.dModel));
  const weighted = await probe.readWeighted();
  const core = checkAttentionCore(cfg, q, k, v, weighted, pairs);
  const { maxAbsError, maxRelError, ...coreCheck } = core;
  checks.push(coreCheck);
  // Block 'full': the attention's output is m, the MLP's input (kept by the engine), then the MLP.
  const full = cfg.block === 'full';
  const mid = full ? await probe.readMid() : await probe.readOutput();
  checks.push(check(full ? 'm = x + A·W_Oᵀ' : 'x_out = x + A·W_Oᵀ', 3, 'o', weighted, mid, cfg.seq, cfg.dModel, inner, x));
  if (full) {
    const src = await mlpSource(cfg, layer, weights);
    const reads = { mid, xn: await probe.readMlpNormed(), hidden: await probe.readHidden(), out: await probe.readOutput() };
    checks.push(...checkMlpSampled(cfg, src, reads, { key: verifyKey(seed, layer, 6), columns: samples, vectors, lambda }));
  }
  for (const ch of checks) ch.detail += ` [verification seed ${seed}]`;
  return { layer, passed: checks.every((ch) => ch.passed), checks, maxError: maxAbsError, maxRelError, ms: performance.now() - start };
}


/**
 * One Verification for the run: every layer must pass. The detection bound is stated relative
 * to the norm of the row an error sits in, the largest over every row and check, so it says the
 * same at layer 0 and at layer 200 where the residual stream is hundreds of times larger.
 */
export function summarizeSampled(layers: LayerVerification[]): Verification {
  let worst: { ratio: number; where: string } = { ratio: 0, where: '' };
  let maxAbsError = 0, maxRelError = 0, detect = 0, miss = 0;
  for (const l of layers) {
    maxAbsError = Math.max(maxAbsError, l.maxError);
    maxRelError = Math.max(maxRelError, l.maxRelError);
    for (const ch of l.checks) {
      if (ch.worstRatio > worst.ratio) worst = { ratio: ch.worstRatio, where: `layer ${l.layer} ${ch.name}` };
      if (ch.name !== 'attention core' && !ch.name.startsWith('MLP up')) {
        detect = Math.max(detect, ch.detectRelative);
        miss = Math.max(miss, ch.missProbability);
      }
    }
  }
  const failed = layers.filter((l) => !l.passed);
  const ms = layers.reduce((s, l) => s + l.ms, 0);
  const core = layers[0]?.checks.find((ch) => ch.name === 'attention core');
  const mlpUp = layers[0]?.checks.find((ch) => ch.name.startsWith('MLP up'));
  return {
    mode: 'sampled',
    maxAbsError,
    maxRelError,
    worstRatio: worst.ratio,
    tolerance: `Freivalds: ${SAMPLED_DEFAULTS.lambda}·u·(‖A_i‖‖W‖_F + ‖b‖ + ‖R_i‖) per row; LN and the attention core: ${BOUND_LAMBDA}·e from their magnitudes`,
    passed: layers.length > 0 && failed.length === 0,
    failedLayers: failed.map((l) => l.layer),
    detail:
      `${layers.length} layer(s) in ${(ms / 1000).toFixed(1)} s: Freivalds on Q, K, V and the output — a single wrong element off by more than ` +
      `${detect.toExponential(2)} of its row's norm is always caught, several that could cancel slip through with p ≤ ${miss.toExponential(1)}` +
      (core ? `; attention core: ${core.detail.split(' recomputed')[0]} recomputed per layer` : '') +
      (mlpUp ? `; MLP: LN2 whole, ${mlpUp.detail.split(' recomputed')[0]} recomputed per layer, Freivalds on fc2` : '') +
      `; worst ${worst.ratio.toPrecision(3)}× the tolerance at ${worst.where || '-'}` +
      (failed.length ? `; FAILED in layer(s) ${failed.map((l) => l.layer).join(', ')}` : ''),
    ms,
  };
}
