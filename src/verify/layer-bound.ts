// How far an fp32 GPU layer may honestly sit from its float64 recomputation, per output element,
// derived from the layer's own magnitudes (its conditioning), not tuned.
//
// The model. Every fp32 operation rounds by a relative error of at most u = 2⁻²⁴; we treat the
// roundings as independent and of random sign (Higham and Mary's probabilistic analysis), so
// errors add in quadrature and an estimate e below is a root-mean-square size, not a worst case.
// The tolerance is λ·e with λ = 8 (BOUND_LAMBDA): a Gaussian exceeds 5.5σ once in 10⁷, and λ
// leaves room for what the model glosses (blocked summation orders, fused multiply-adds).
//
//  dot product c = a·w of K terms, computed in any order: the partial sums s_k are about
//    (k/K)·c plus a random walk of size ‖a‖‖w‖·√(k/K), each rounded by u·|s_k|, so
//      e_round(c) = u·(‖a‖·‖w‖ + √K·|c|)                                    (1)
//    (the second term is the all-same-sign case, where the partial sums grow linearly).
//  an input error vector δa, random with respect to w, moves c by about ‖δa‖·‖w‖/√K      (2)
//  LayerNorm of a row x (D values, mean μ, σ = √(var + eps)), xn = (x − μ)/σ·g + b:
//      e(μ) = u·(‖x‖ + √D·|μ|)/√D by (1) with w = 1/D; 1/σ is off by u·(√D + 4) relative
//      (a sum of D non-negative squares, then inverseSqrt's 2 ulp), so
//      e(xn_j) = |g_j|·(e(μ) + u·|x_j − μ|)/σ + u·(√D + 4)·|xn_j − b_j| + 2u·|xn_j|     (3)
//  projections q, k, v = a·Wᵀ + b: (1) + (2) + 2u·|c| for the bias add and the store.
//  scores s_ij = (q_i·k_j)·scale over one head's d columns:
//      e(s) = scale·(u·(‖q‖‖k‖ + √d·|q·k|) + (‖e_q‖·‖k‖ + ‖q‖·‖e_k‖)/√d) + u·|s|
//  softmax p_j = exp(s_j − m)/Z: each term's relative error is
//      ε_j = e(s_j) + 2u·(3 + 2|s_j − m|) + u·|s_j − m|     (WGSL's exp: 3 + 2|x| ulp)
//    and to first order the weighted sum A = Σ p_j v_j moves by Σ_j p_j·ε_j·(v_j − A): a
//    shift common to every term cancels in the normalisation. Z itself (C positive terms,
//    and the online softmax's per-block rescaling) is off by u·(2√C + 2) relative.
//    First order stops holding where λ·ε is not small: in a deep bare stack the scores reach
//    10¹⁰ and two keys 10⁴ apart in score may swap places within fp32's rounding. Exactly,
//    p′_j = p_j·e^{δ_j}/Σ_l p_l e^{δ_l} with |δ_l| ≤ λ·ε_l, so |p′_j − p_j| ≤
//    min(1, p_j·expm1(λ·(ε_j + ε̃))), ε̃ = log(Σ_l p_l e^{λ·ε_l})/λ; whatever this exceeds
//    its linear part λ·p_j·(ε_j + ε̃) by, times |v_jd − A_d|, is added as it is: a bound, not
//    a root-mean-square, so the λ applied later covers its projection through W_O too. It is
//    nothing where the softmax is well conditioned and says honestly, where it is not, that
//    fp32 cannot tell which key wins.
//  weighted sums A_d = Σ_j p_j v_jd:
//      e(A_d)² = Σ_j p_j²·(ε_j²·(v_jd − A_d)² + e(v_jd)²) + (u·(‖p‖‖v_d‖ + √C·|A_d|))²
//                + (u·(2√C + 2)·|A_d|)²,   plus 2u·|A_d| for the store
//  output y = x + A·Woᵀ + b: (1) + (2) for A·Woᵀ, then u·|o| (bias) and u·|y| (the residual add).
//
// Block 'full' continues from that output m (the MLP's input) and its estimate e(m):
//  LN2: (3) on m, plus the input error carried through: |g_j|·e(m_j)/σ (an error random with
//    respect to the row shifts its mean and variance by only ~1/√D of itself);
//  z = LN2(m)·fc1ᵀ + b1: (1) + (2) + u·|z| for the bias add (z itself is never stored: the
//    activation runs in the product's epilogue, on the f32 sum);
//  h = act(z): |act′(z)|·e(z) carried (ReLU: 1, its largest slope, so z near the kink is safe),
//    plus the activation's own rounding. gelu_new evaluates y = c·(x + 0.044715·x³) in a few f32
//    steps (4u·(|c·x| + |c·0.044715·x³|), the constants' own rounding included), then tanh,
//    whose WGSL accuracy is inherited from sinh/cosh through exp's 3 + 2|y| ulp: absolute at
//    most u·(16 + 8|y|) after the clamp to |y| ≤ 10 (the kernel's), then 0.5·x·(1 + t): t's
//    errors times 0.5|x| and 3u·|h|; h is stored, u_s·|h|;
//  y = m + h·fc2ᵀ + b2: (1) + (2) over K = ffn, u·|b2 add|, u·|y| for the residual add, and
//    e(m) carried as it is.
// The MLP's products have K = ffn (4·d_model for GPT-2): (1)'s √K·|c| term grows with it.
//
// f16 precision stores LN(x), q, k, v, the pattern and the weighted sums as f16: each store
// rounds by u16 = 2⁻¹¹ instead of u, so every "store" term above uses u_s = u16 for them (the
// output projection still accumulates into the f32 residual stream, u). The weights are f16 too,
// but the reference is computed from the same f16 values, so they are not an error. An f16 check
// therefore allows about 2⁻¹¹/2⁻²⁴ ≈ 8000× more than an f32 one where stores dominate, and still
// fails a planted error of 1e-2 relative (test/verify/f16.test.ts measures both).
//
// Everything is evaluated on the float64 recomputation from the GPU's own input to the layer,
// so the tolerance follows the layer's real input size, weight norms, score range, d_model and
// number of keys: a deep stack whose residual grows to |x| ≈ 300 gets a tolerance 300× larger
// in absolute terms, and the same relative power.

import type { AttentionConfig } from '../model/config.js';
import type { LayerResult, LayerWeights } from '../reference/attention.js';
import { keyRows } from '../reference/attention.js';
import { LAYERNORM_EPS } from '../reference/layernorm.js';
import { F16_UNIT } from '../io/half.js';
import { geluNewSlope } from '../reference/mlp.js';
import { BOUND_LAMBDA, U32, dotError, expTermError, normaliserError } from './tolerance.js';

export { BOUND_LAMBDA, U32 };
/** The rounding of one store of an intermediate: u for f32, u16 for f16 (see the header). */
export const storeUnit = (cfg: AttentionConfig): number => (cfg.precision === 'f16' ? F16_UNIT : U32);

const rowNorms = (m: ArrayLike<number>, rows: number, cols: number): Float64Array => {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += m[r * cols + c]! ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
};

/** e(c) for c = a·Wᵀ + b (rows × N from K inputs): rounding (1), input error (2), bias and store. */
export function projectionError(a: ArrayLike<number>, aErr: Float64Array | null, w: ArrayLike<number>, bias: ArrayLike<number> | undefined,
  c: Float64Array, rows: number, N: number, K: number, uStore: number): Float64Array {
  const aN = rowNorms(a, rows, K);
  const aE = aErr ? rowNorms(aErr, rows, K) : null;
  const wN = rowNorms(w, N, K);
  const sqrtK = Math.sqrt(K);
  const e = new Float64Array(rows * N);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < N; j++) {
      const cij = c[i * N + j]!;
      const dot = cij - (bias ? bias[j]! : 0);
      e[i * N + j] = dotError(aN[i]! * wN[j]!, K, dot) + (aE ? (aE[i]! * wN[j]!) / sqrtK : 0) + (U32 + uStore) * Math.abs(cij);
    }
  }
  return e;
}

/** e(xn) by (3) for LayerNorm rows of x. */
export function layerNormError(x: ArrayLike<number>, xn: ArrayLike<number>, gain: ArrayLike<number>, bias: ArrayLike<number>, rows: number, D: number,
  uStore = U32, eps = LAYERNORM_EPS, xErr: ArrayLike<number> | null = null): Float64Array {
  const e = new Float64Array(rows * D);
  const sqrtD = Math.sqrt(D);
  for (let i = 0; i < rows; i++) {
    const o = i * D;
    let sum = 0, sq = 0;
    for (let j = 0; j < D; j++) sum += x[o + j]!;
    const mean = sum / D;
    for (let j = 0; j < D; j++) sq += (x[o + j]! - mean) ** 2;
    const sigma = Math.sqrt(sq / D + eps);
    const eMean = (U32 * (Math.sqrt(sq + D * mean * mean) + sqrtD * Math.abs(mean))) / sqrtD;
    for (let j = 0; j < D; j++) {
      e[o + j] = (Math.abs(gain[j]!) * (eMean + U32 * Math.abs(x[o + j]! - mean))) / sigma +
        U32 * (sqrtD + 4) * Math.abs(xn[o + j]! - bias[j]!) + (U32 + uStore) * Math.abs(xn[o + j]!) +
        (xErr ? (Math.abs(gain[j]!) * xErr[o + j]!) / sigma : 0);
    }
  }
  return e;
}

/** Norms of each row's head blocks: out[r·heads + h] = ‖m[r, h·d … (h+1)·d)‖. */
function headNorms(m: ArrayLike<number>, rows: number, heads: number, d: number): Float64Array {
  const out = new Float64Array(rows * heads);
  const width = heads * d;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += m[r * width + h * d + t]! ** 2;
      out[r * heads + h] = Math.sqrt(s);
    }
  }
  return out;
}

/**
 * e(A) for the attention core, every (query row, head, dim), from q, k, v and their error
 * estimates (null: taken as exact, e.g. the GPU's own q, k, v in a sampled check).
 * `pairs` limits the work to some (query row, head) pairs (sampled checks); others are left 0. `keys` and
 * `causalOffset` (query row i sees keys ≤ i + offset under the mask) default to the config's; a kernel test of the
 * core alone passes its own.
 */
export function coreError(cfg: AttentionConfig, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  eq: Float64Array | null, ek: Float64Array | null, ev: Float64Array | null, A: ArrayLike<number>,
  pairs?: { row: number; head: number }[], keys = keyRows(cfg), causalOffset = keys - cfg.seq): Float64Array {
  const { seq, heads, dHead: d } = cfg;
  const uStore = storeUnit(cfg);
  const C = keys;
  const width = heads * d;
  const scale = 1 / Math.sqrt(d);
  const sqrtD = Math.sqrt(d);
  const offset = causalOffset;
  const qN = headNorms(q, seq, heads, d), kN = headNorms(k, C, heads, d);
  const eqN = eq ? headNorms(eq, seq, heads, d) : null, ekN = ek ? headNorms(ek, C, heads, d) : null;
  const eA = new Float64Array(seq * width);
  const s = new Float64Array(C), p = new Float64Array(C), eps = new Float64Array(C), excess = new Float64Array(C);
  const todo = pairs ?? Array.from({ length: seq * heads }, (_, n) => ({ row: Math.floor(n / heads), head: n % heads }));
  for (const { row: i, head: h } of todo) {
    const visible = cfg.mask && !cfg.cross ? Math.min(C, i + offset + 1) : C;
    const qo = i * width + h * d;
    let m = -Infinity;
    for (let j = 0; j < visible; j++) {
      let dot = 0;
      for (let t = 0; t < d; t++) dot += q[qo + t]! * k[j * width + h * d + t]!;
      s[j] = dot * scale;
      m = Math.max(m, s[j]!);
      const es = scale * (dotError(qN[i * heads + h]! * kN[j * heads + h]!, d, dot) +
        ((eqN ? eqN[i * heads + h]! * kN[j * heads + h]! : 0) + (ekN ? qN[i * heads + h]! * ekN[j * heads + h]! : 0)) / sqrtD) +
        uStore * Math.abs(s[j]!); // the stored score (materialized; f16 rounds it by u16)
      eps[j] = es;
    }
    let Z = 0;
    for (let j = 0; j < visible; j++) {
      p[j] = Math.exp(s[j]! - m);
      Z += p[j]!;
      eps[j] = eps[j]! + expTermError(s[j]! - m) + U32 + uStore; // + the stored p (materialized)
    }
    let pNorm2 = 0;
    for (let j = 0; j < visible; j++) {
      p[j] = p[j]! / Z;
      pNorm2 += p[j]! ** 2;
    }
    // ε̃ = log(Σ_l p_l e^{λε_l})/λ in log-sum-exp form, then each term's excess over first order.
    const logZ = Math.log(Z);
    let top = -Infinity;
    for (let j = 0; j < visible; j++) top = Math.max(top, s[j]! - m - logZ + BOUND_LAMBDA * eps[j]!);
    let lse = 0;
    for (let j = 0; j < visible; j++) lse += Math.exp(s[j]! - m - logZ + BOUND_LAMBDA * eps[j]! - top);
    const epsTilde = (top + Math.log(lse)) / BOUND_LAMBDA;
    for (let j = 0; j < visible; j++) {
      const z = BOUND_LAMBDA * (eps[j]! + epsTilde);
      const exact = z > 30 ? Math.min(1, Math.exp(s[j]! - m - logZ + z)) : Math.min(1, p[j]! * Math.expm1(z));
      excess[j] = Math.max(0, exact - p[j]! * z);
    }
    const zRel = normaliserError(visible);
    for (let t = 0; t < d; t++) {
      const col = h * d + t;
      const a = A[i * width + col]!;
      let sum2 = 0, vNorm2 = 0, nonlinear = 0;
      for (let j = 0; j < visible; j++) {
        const vj = v[j * width + col]!;
        const evj = ev ? ev[j * width + col]! : 0;
        sum2 += p[j]! ** 2 * (eps[j]! ** 2 * (vj - a) ** 2 + evj ** 2);
        vNorm2 += vj * vj;
        nonlinear += excess[j]! * Math.abs(vj - a);
      }
      const round = U32 * (Math.sqrt(pNorm2 * vNorm2) + Math.sqrt(visible) * Math.abs(a));
      eA[i * width + col] = Math.sqrt(sum2 + round ** 2 + (zRel * a) ** 2) + (U32 + uStore) * Math.abs(a) + nonlinear;
    }
  }
  return eA;
}

/**
 * The estimated error e(y) of every output element of one layer computed in fp32 from the
 * input x (and context), given its float64 recomputation `ref` from the same input and weights.
 */
export function layerOutputError(cfg: AttentionConfig, x: ArrayLike<number>, context: ArrayLike<number> | null, w: LayerWeights, ref: LayerResult): Float64Array {
  const { seq, dModel: D } = cfg;
  const W = cfg.heads * cfg.dHead;
  const C = keyRows(cfg);
  const uStore = storeUnit(cfg);
  const eps = cfg.lnEps ?? LAYERNORM_EPS;
  const exn = cfg.norm === 'layernorm' ? layerNormError(x, ref.xn, w.lnGain!, w.lnBias!, seq, D, uStore, eps) : null;
  const kvIn = cfg.cross ? context! : ref.xn;
  const kvErr = cfg.cross ? null : exn;
  const eq = projectionError(ref.xn, exn, w.q, w.qBias, ref.q, seq, W, D, uStore);
  const ek = projectionError(kvIn, kvErr, w.k, w.kBias, ref.k, C, W, D, uStore);
  const ev = projectionError(kvIn, kvErr, w.v, w.vBias, ref.v, C, W, D, uStore);
  const eA = coreError(cfg, ref.q, ref.k, ref.v, eq, ek, ev, ref.attn);
  // The output projection accumulates into the f32 residual stream: u for its store.
  const eo = projectionError(ref.attn, eA, w.o, w.oBias, ref.delta, seq, D, W, U32);
  const mid = ref.mid ?? ref.y;
  for (let n = 0; n < eo.length; n++) eo[n] = eo[n]! + U32 * Math.abs(mid[n]!);
  return ref.mlp ? mlpOutputError(cfg, mid, eo, w, ref.mlp) : eo;
}

/** e(y) of the MLP sublayer y = m + fc2(act(fc1(LN2(m)) + b1)) + b2, from its input m and e(m) (see the header). */
export function mlpOutputError(cfg: AttentionConfig, m: ArrayLike<number>, em: ArrayLike<number> | null, w: LayerWeights,
  r: { xn: ArrayLike<number>; z: ArrayLike<number>; h: ArrayLike<number>; delta: Float64Array; y: ArrayLike<number> }): Float64Array {
  const { seq, dModel: D, ffn: F } = cfg;
  const uStore = storeUnit(cfg);
  const exn = layerNormError(m, r.xn, w.mlpLnGain!, w.mlpLnBias!, seq, D, uStore, cfg.lnEps ?? LAYERNORM_EPS, em);
  const ez = projectionError(r.xn, exn, w.fc1!, w.fc1Bias, Float64Array.from(r.z), seq, F, D, 0);
  const eh = new Float64Array(seq * F);
  for (let n = 0; n < eh.length; n++) eh[n] = activationError(cfg.activation, r.z[n]!, ez[n]!) + uStore * Math.abs(r.h[n]!);
  const ey = projectionError(r.h, eh, w.fc2!, w.fc2Bias, r.delta, seq, D, F, U32);
  for (let n = 0; n < ey.length; n++) ey[n] = ey[n]! + U32 * Math.abs(r.y[n]!) + (em ? em[n]! : 0);
  return ey;
}

/** e(act(z)) from e(z) and the activation's own f32 rounding (see the header). */
export function activationError(activation: AttentionConfig['activation'], z: number, ez: number): number {
  if (activation === 'relu') return ez;
  const c = Math.sqrt(2 / Math.PI);
  const y = c * (z + 0.044715 * z * z * z);
  const yc = Math.min(10, Math.abs(y));
  const t = Math.tanh(y);
  const ey = 4 * U32 * (Math.abs(c * z) + Math.abs(c * 0.044715 * z * z * z));
  const et = U32 * (16 + 8 * yc) + (1 - t * t) * ey;
  return Math.abs(geluNewSlope(z)) * ez + 0.5 * Math.abs(z) * et + 3 * U32 * Math.abs(0.5 * z * (1 + t));
}
