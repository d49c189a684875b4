// The judge: how far a GPU result may honestly sit from its float64 reference. Verification (layer-bound.ts and the
// checks built on it), every kernel's tests, the autotuner's spot check (src/tune/matmul.ts) and the tuning
// benchmark's (bench/tune/matmul.ts) all decide with what is here, so changing a bound changes it everywhere.
//
// The model (layer-bound.ts's header has the whole derivation, layer by layer): every f32 operation rounds by a
// relative error of at most u = 2⁻²⁴, the roundings independent and of random sign, so an estimate e is a
// root-mean-square size; the allowance is λ·e with λ = BOUND_LAMBDA = 8 (a Gaussian exceeds 5.5σ once in 10⁷, and λ
// leaves room for blocked summation orders and fused multiply-adds). The estimates are evaluated on the float64
// reference, so they follow the inputs' real magnitudes.
//
//  dot product c = a·b of K terms, in any order (layer-bound.ts (1)):  e = u·(‖a‖·‖b‖ + √K·|c|)          dotError
//  matmul element α·(a·b) + bias + C₀: |α|·(1), then the scaling, the bias add and the accumulation each round
//    by u of their result                                                                               matmulElementError
//  softmax p_j = exp(s_j − m)/Z of a row with C visible keys, exact scores s:
//    each term's relative error ε_j = 2u·(3 + 2|s_j − m|) + u·|s_j − m| (WGSL's exp is good to 3 + 2|x| ulp; the
//    subtraction rounds)                                                                                expTermError
//    Z's relative error: its terms' errors averaged by weight, Σ_l p_l·ε_l, plus the sum's own u·(2√C + 2) (C
//    positive terms; the online softmax's per-block rescaling)                                          normaliserError
//    so e(p_j) = p_j·(ε_j + Σ_l p_l ε_l + u·(2√C + 2) + 2u), the last for the division and the store    softmaxRowError
//  LayerNorm rows: layer-bound.ts (3), layerNormError;  the attention core: layer-bound.ts, coreError.
//
// f16 storage: a kernel computes in f32 and stores its result as f16 once. WGSL lets that conversion round to either
// neighbour (the spec pins no rounding), so the stored value is within one f16 ulp of the f32 result: 2·F16_UNIT of it
// for normals, 2⁻²⁴ (the subnormal spacing) near zero (f16Stored). Inputs rounded to f16 before the reference sees
// them are no error; verification's own f16 runs use the store unit u16 inside the estimate instead (storeUnit).
//
// Outside oracles (numpy's golden files, test/golden): a value an outside implementation computed in float64 and
// stored rounded to f32, against this project's float64 reference of the same computation from the same stored
// inputs. Two things part them:
//  - the store: round to nearest moves a value by at most half an f32 ulp, 2⁻²⁴·|stored| (the ulp of a normal
//    value x is at most 2⁻²³·|x|), or 2⁻¹⁵⁰ (half the subnormal spacing) near 0;
//  - the two float64 computations' own roundings in different orders: the model above with u64 = 2⁻⁵³ in place of u.
//    Every term of an estimate e is u times a magnitude, or an upstream term carried, so the float64 estimate is
//    e·u64/u (the exp term's 3 + 2|x| ulp more than covers a float64 exp's 1 ulp), and each side is within λ of it:
//      |reference − stored| ≤ 2⁻²⁴·|stored| + 2⁻¹⁵⁰ + 2λ·e·u64/u                                     oracleAllowance
//    with e the f32 estimate (f32 store units: neither side stores anything as f16). This slack is ~2⁻²⁴·|x| × 2⁻⁵
//    for a value of ordinary size; it matters where a sum cancels to near 0, where half an ulp of the result is
//    nothing beside the rounding of its terms.
// The allowance is layer-local: the oracle must compute each stored state from the one before it as stored (f32),
// or its float64 state carries a difference from its own earlier stores that no rounding bound of one layer covers.

import { F16_UNIT } from '../io/half.js';

/** f32 unit roundoff. */
export const U32 = 2 ** -24;

/** Allowance = BOUND_LAMBDA × the estimated root-mean-square error (see the header). */
export const BOUND_LAMBDA = 8;

/** float64 unit roundoff. */
export const U64 = 2 ** -53;

/** Half of f32's subnormal spacing 2⁻¹⁴⁹: how far rounding to f32 may move a value near 0. */
export const F32_HALF_TINY = 2 ** -150;

/**
 * How far this project's float64 value may sit from an outside implementation's float64 value stored as f32
 * (`stored`), e the f32 estimate of the computation (see the header).
 */
export const oracleAllowance = (stored: number, e: number): number => U32 * Math.abs(stored) + F32_HALF_TINY + 2 * BOUND_LAMBDA * (U64 / U32) * e;

/** f16's subnormal spacing: the absolute error floor of one f16 rounding. */
export const F16_TINY = 2 ** -24;

/** (1): the rounding of an f32 dot product of K terms whose operands' norms multiply to `normProduct`, value `dot`. */
export const dotError = (normProduct: number, K: number, dot: number): number => U32 * (normProduct + Math.sqrt(K) * Math.abs(dot));

/** The relative error of one softmax term exp(s − m), from s − m (exp's 3 + 2|x| ulp, and the subtraction). */
export const expTermError = (sMinusMax: number): number => 2 * U32 * (3 + 2 * Math.abs(sMinusMax)) + U32 * Math.abs(sMinusMax);

/** The relative error of summing a softmax normaliser of C positive terms (and the online softmax's rescaling). */
export const normaliserError = (C: number): number => U32 * (2 * Math.sqrt(C) + 2);

/** The allowance of a result stored as f16 whose f32 value is within `a` of the float64 reference `ref`. */
export const f16Stored = (a: number, ref: number): number => a + 2 * F16_UNIT * (Math.abs(ref) + a) + F16_TINY;

/** The allowance for an estimate `e` of a result `ref` stored in `precision` (f32 when omitted). */
export const allowance = (e: number, ref: number, precision: 'f32' | 'f16' = 'f32'): number =>
  precision === 'f16' ? f16Stored(BOUND_LAMBDA * e, ref) : BOUND_LAMBDA * e;

export interface MatmulElement {
  /** ‖a‖·‖b‖ of the row of A and the column of op(B) this element multiplies. */
  normProduct: number;
  K: number;
  /** a·b in float64. */
  dot: number;
  alpha?: number;
  bias?: number;
  /** C's value before an accumulating call. */
  start?: number;
}

/** e of one element of C = α·(A·op(B)) + bias (+ C₀ when accumulating). */
export function matmulElementError({ normProduct, K, dot, alpha = 1, bias = 0, start = 0 }: MatmulElement): number {
  const scaled = alpha * dot;
  const result = scaled + bias + start;
  return Math.abs(alpha) * dotError(normProduct, K, dot) + U32 * ((alpha === 1 ? 0 : Math.abs(scaled)) + Math.abs(scaled + bias) + Math.abs(result));
}

/**
 * e of each probability of one softmax row, from its f32 scores and the float64 probabilities `p` of the first
 * `visible` keys (the rest are masked: exactly 0, checked apart).
 */
export function softmaxRowError(scores: ArrayLike<number>, p: ArrayLike<number>, visible: number): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < visible; j++) m = Math.max(m, scores[j]!);
  const eps = new Float64Array(visible);
  let mean = 0;
  for (let j = 0; j < visible; j++) {
    eps[j] = expTermError(scores[j]! - m);
    mean += p[j]! * eps[j]!;
  }
  const shared = mean + normaliserError(visible) + 2 * U32;
  return eps.map((ej, j) => p[j]! * (ej + shared));
}

export interface Judgement {
  passed: boolean;
  /** The element with the largest error / allowance, or the first that is not finite (-1 when there are none). */
  worstIndex: number;
  worstRatio: number;
  /** What failed, in words (empty when it passed). */
  detail: string;
}

/**
 * Every `out[i]` within `tol[i]` of `ref[i]` (a value that is not finite fails). `at` names an index in the detail
 * (default: "element i").
 */
export function judge(out: ArrayLike<number>, ref: ArrayLike<number>, tol: ArrayLike<number>, at: (i: number) => string = (i) => `element ${i}`): Judgement {
  let worstIndex = -1;
  let worstRatio = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(out[i]!)) return { passed: false, worstIndex: i, worstRatio: Infinity, detail: `${at(i)} is ${out[i]}` };
    const err = Math.abs(out[i]! - ref[i]!);
    const ratio = err === 0 ? 0 : err / tol[i]!;
    if (ratio > worstRatio) [worstIndex, worstRatio] = [i, ratio];
  }
  const passed = worstRatio <= 1;
  const detail = passed ? '' : `${at(worstIndex)}: ${out[worstIndex]} vs ${ref[worstIndex]}, error ${worstRatio.toFixed(1)}× the allowance ${tol[worstIndex]}`;
  return { passed, worstIndex, worstRatio, detail };
}
