// How far a whole GPU run may honestly sit from numpy's golden states and logits (test/golden/checkpoints), derived
// from the one judge (src/verify/tolerance.ts), for the direct GPU-vs-numpy comparisons beside the layer-local ones.
//
// Each step of each side sits off the float64 step from that side's own input by a rounding error of estimated
// root-mean-square size: the GPU's layer l by e_l (layer-bound.ts; the embedding, when the GPU computes it, by one
// f32 rounding u·|x|), numpy's by its f32 store (at most half an ulp, 2⁻²⁴·|x|) and its float64 order (2·e·u64/u):
// tolerance.ts's model, the errors independent and of random sign. Carried through the later layers to first order
// by the float64 stack's Jacobian J (measured here by central differences on numpy's states, one element of s_l
// moved by ±h per column), they add in quadrature like the roundings within one layer, so state m and the logits
// may sit off numpy's by
//    reach_m = a_m + λ·√(Σ_{l<m} Σ_k (J_{m←l}[·,k]·ε_l[k])²)      ε² = e_gpu² + e_numpy², a_m the two own allowances
// at state m added (λ·e_gpu + oracleAllowance). First order suffices while the errors are ~10⁻⁶ relative.

import { join } from 'node:path';
import { checkpointRunConfig } from '../../src/io/checkpoint-config.js';
import type { AttentionConfig } from '../../src/model/config.js';
import { Checkpoint } from '../../src/node/checkpoint.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import type { ModelTensors } from '../../src/model/weights.js';
import { attentionLayer, softmaxRows, type LayerWeights } from '../../src/reference/attention.js';
import { layerOutputError } from '../../src/verify/layer-bound.js';
import { logitsEstimate } from '../../src/verify/model-ends.js';
import { BOUND_LAMBDA, F32_HALF_TINY, oracleAllowance, U32, U64 } from '../../src/verify/tolerance.js';
import { asF32 } from './oracle.js';

export interface Reach {
  /** Per state s_0 (the embedding) … s_L: how far the GPU's may sit from numpy's, every element. */
  states: Float64Array[];
  /** How far the GPU's logits may sit from numpy's stored logits. */
  logits: Float64Array;
}

/**
 * `states` numpy's s_0 … s_L, `logits` its stored logits, `w(l)` the layers' weights; `gpuEmbeds`: the GPU computed
 * its own embedding (a model run) rather than being given numpy's.
 */
export function oracleReach(cfg: AttentionConfig, w: (l: number) => LayerWeights, t: ModelTensors, states: ArrayLike<number>[],
  logits: ArrayLike<number>, gpuEmbeds: boolean): Reach {
  const L = states.length - 1;
  const layers = Array.from({ length: L }, (_, l) => w(l));
  const numpyRms = (s: number, e64: number) => U32 * Math.abs(s) + F32_HALF_TINY + 2 * (U64 / U32) * e64;
  // a_m, the two sides' own allowances at each state, and ε_m, their combined root-mean-square error there.
  const embedGpu = (x: number) => (gpuEmbeds ? U32 * Math.abs(x) + 2 ** -149 : 0);
  const a: Float64Array[] = [Float64Array.from(states[0]!, (x) => (gpuEmbeds ? BOUND_LAMBDA * embedGpu(x) + oracleAllowance(x, U32 * Math.abs(x)) : 0))];
  const eps: Float64Array[] = [Float64Array.from(states[0]!, (x) => (gpuEmbeds ? Math.hypot(embedGpu(x), numpyRms(x, U32 * Math.abs(x))) : 0))];
  for (let l = 0; l < L; l++) {
    const ref = attentionLayer(states[l]!, null, layers[l]!, cfg);
    const e = layerOutputError(cfg, states[l]!, null, layers[l]!, ref);
    const e64 = layerOutputError(asF32(cfg), states[l]!, null, layers[l]!, ref);
    a.push(Float64Array.from(states[l + 1]!, (s, n) => BOUND_LAMBDA * e[n]! + oracleAllowance(s, e64[n]!)));
    eps.push(Float64Array.from(states[l + 1]!, (s, n) => Math.hypot(e[n]!, numpyRms(s, e64[n]!))));
  }
  const end = logitsEstimate(cfg, t, states[L]!);
  const end64 = logitsEstimate(asF32(cfg), t, states[L]!);
  // Σ (J·ε)², per later state and for the logits.
  const sq = { states: states.map((s) => new Float64Array(s.length)), logits: new Float64Array(logits.length) };
  const forward = (l: number, s: Float64Array): { states: Float64Array[]; logits: Float64Array } => {
    const later: Float64Array[] = [];
    let x: ArrayLike<number> = s;
    for (let m = l; m < L; m++) later.push((x = attentionLayer(x, null, layers[m]!, cfg).y) as Float64Array);
    return { states: later, logits: logitsEstimate(asF32(cfg), t, x).logits };
  };
  const add = (into: Float64Array, up: Float64Array, down: Float64Array, weight: number) => {
    for (let n = 0; n < into.length; n++) into[n] = into[n]! + ((up[n]! - down[n]!) * weight) ** 2;
  };
  for (let l = 0; l <= L; l++) {
    const base = Float64Array.from(states[l]!);
    for (let k = 0; k < base.length; k++) {
      if (eps[l]![k] === 0) continue;
      const h = 1e-6 * Math.max(1, Math.abs(base[k]!));
      const s = Float64Array.from(base);
      s[k] = base[k]! + h;
      const up = forward(l, s);
      s[k] = base[k]! - h;
      const down = forward(l, s);
      const weight = eps[l]![k]! / (2 * h);
      up.states.forEach((u, i) => add(sq.states[l + 1 + i]!, u, down.states[i]!, weight));
      add(sq.logits, up.logits, down.logits, weight);
    }
  }
  return {
    states: a.map((own, m) => own.map((x, n) => x + BOUND_LAMBDA * Math.sqrt(sq.states[m]![n]!))),
    logits: Float64Array.from(logits, (s, v) => BOUND_LAMBDA * end.e[v]! + oracleAllowance(s, end64.e[v]!) + BOUND_LAMBDA * Math.sqrt(sq.logits[v]!)),
  };
}

/**
 * How far the GPU's next-token probabilities (float64 softmax of its logits) may sit from numpy's `p` (its float64
 * softmax of its unrounded logits), to first order: dp_j = p_j·(dl_j − Σ_k p_k·dl_k) with |dl| at most the logits'
 * reach plus half an f32 ulp (numpy's own logits before their store).
 */
export function probabilityReach(p: ArrayLike<number>, logits: ArrayLike<number>, reach: Reach): Float64Array {
  const r = Float64Array.from(reach.logits, (x, v) => x + U32 * Math.abs(logits[v]!));
  let shared = 0;
  for (let v = 0; v < r.length; v++) shared += p[v]! * r[v]!;
  return Float64Array.from(p, (pj, j) => pj * (r[j]! + shared));
}

/**
 * Whether the GPU's top ids `ids` (best first) are numpy's, where rounding cannot reorder them: a token ranked above
 * another must not be one numpy puts below it by more than both reaches (numpy's logit margin), and every token numpy
 * puts above the GPU's last by more than both reaches must be in the list. Returns what is wrong, or '' when agreeing.
 */
export function topTokensDisagreement(ids: number[], logits: ArrayLike<number>, reach: Float64Array): string {
  const sure = (a: number, b: number) => logits[a]! - logits[b]! > reach[a]! + reach[b]!; // numpy's a beats b beyond rounding
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) if (sure(ids[j]!, ids[i]!)) return `id ${ids[i]} ranked above ${ids[j]}, which numpy puts ahead by ${logits[ids[j]!]! - logits[ids[i]!]!} (reach ${reach[ids[i]!]! + reach[ids[j]!]!})`;
  }
  const last = ids[ids.length - 1]!;
  for (let v = 0; v < logits.length; v++) if (!ids.includes(v) && sure(v, last)) return `id ${v} missing: numpy puts it ahead of ${last} by ${logits[v]! - logits[last]!}`;
  return '';
}

/** numpy's stored states (embedded, layer.0 …) and logits of a golden checkpoint case. */
export function readOracle(dir: string, name: string, layers: number): { states: Float32Array[]; logits: Float32Array } {
  const exp = new SafetensorsFile(join(dir, `${name}.expected.safetensors`));
  try {
    return { states: [exp.read('embedded'), ...Array.from({ length: layers }, (_, l) => exp.read(`layer.${l}`))], logits: exp.read('logits') };
  } finally {
    exp.close();
  }
}

/** readOracle, with the reach of an f32 model run (the GPU embeds) and numpy's probabilities from its stored logits. */
export function checkpointOracle(dir: string, name: string, layers: number, seq: number): { states: Float32Array[]; logits: Float32Array; reach: Reach; p: Float64Array } {
  const { states, logits } = readOracle(dir, name, layers);
  const ckpt = Checkpoint.open(join(dir, name));
  try {
    const cfg = checkpointRunConfig(ckpt.config, { seq });
    const reach = oracleReach(cfg, (l) => ckpt.layerTensors(l), ckpt.modelTensors(), states, logits, true);
    return { states, logits, reach, p: softmaxRows(Float64Array.from(logits), 1, logits.length, { causal: false }) };
  } finally {
    ckpt.close();
  }
}
