// Element-wise comparison of a GPU result with the float64 reference:
// |gpu − ref| ≤ atol + rtol·|ref| for every element, and every value finite.

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface Comparison {
  /** max |gpu − ref|; Infinity when a value is NaN/Inf. */
  maxAbsError: number;
  /**
   * max |gpu − ref| / max(|ref|, atol): relative error, with atol as the floor of the
   * denominator so elements near zero (where relative error means nothing) do not dominate.
   */
  maxRelError: number;
  /**
   * Index of the element that most exceeds (or comes closest to) its allowance
   * atol + rtol·|ref|; the first non-finite one if any; -1 when empty.
   */
  worstIndex: number;
  tolerance: Tolerance;
  passed: boolean;
  count: number;
  /** Elements where gpu or ref is NaN/±Inf: each one fails (a NaN-poisoned, unwritten output must not pass). */
  nonFinite: number;
}

/**
 * Default fp32-vs-float64 tolerance for attention outputs.
 *
 * fp32 rounds each step by u = 2⁻²⁴ ≈ 6e-8. A dot product of K terms with O(1) partial sums
 * (weights are U(−1,1)/√fanIn, activations O(1)) accumulates a typical error of about √K·u:
 * for K = 12288 (GPT-3's dModel) that is ≈ 7e-6, and the worst case K·u·Σ|ab| is never reached
 * by random signs. A layer chains four projections, a dHead-long score product, softmax and
 * the pattern·v sum, and layers add their errors through the residual. Measured with an fp32
 * emulation (sequential accumulation, the least accurate order a kernel would use):
 *   2 layers dModel 256: max |err| 5e-7;  8 layers dModel 512 seq 64: 1.3e-6;
 *   1 layer dModel 12288, 96 heads: 2.6e-6;  32 layers dModel 128: 5.6e-6 (|ref| up to 9).
 * atol 2e-4 leaves ≥ 30× margin for other summation orders, online (flash) softmax rescaling
 * and WGSL's exp (3 + 2|x| ULP). rtol 2e-3 covers outputs whose size grows with depth
 * through the residual. A single element off by 1e-2 still fails wherever |ref| < 4.9
 * (small stacks stay below |ref| ≈ 2.5).
 * Not for very deep stacks: 96 causal layers at dModel 128 grow |ref| to ≈ 260 and sharpen
 * softmax until max |err| ≈ 9e-3; such runs need a tolerance scaled to the output's size.
 */
export const FP32_TOLERANCE: Readonly<Tolerance> = Object.freeze({ atol: 2e-4, rtol: 2e-3 });

export function compare(gpu: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): Comparison {
  if (gpu.length !== ref.length) {
    throw new Error(`compare: gpu has ${gpu.length} values but the reference has ${ref.length}`);
  }
  if (!(tol.atol >= 0) || !(tol.rtol >= 0)) {
    throw new Error(`compare: tolerances must be non-negative, got atol ${tol.atol}, rtol ${tol.rtol}`);
  }
  let maxAbsError = 0;
  let maxRelError = 0;
  let worstIndex = gpu.length > 0 ? 0 : -1;
  let worstRatio = -1;
  let nonFinite = 0;
  let failed = 0;
  for (let i = 0; i < gpu.length; i++) {
    const g = gpu[i]!;
    const r = ref[i]!;
    if (!Number.isFinite(g) || !Number.isFinite(r)) {
      if (nonFinite === 0) {
        worstIndex = i;
        worstRatio = Infinity;
      }
      nonFinite++;
      maxAbsError = Infinity;
      maxRelError = Infinity;
      continue;
    }
    const err = Math.abs(g - r);
    const allowed = tol.atol + tol.rtol * Math.abs(r);
    if (err > allowed) failed++;
    maxAbsError = Math.max(maxAbsError, err);
    const denom = Math.max(Math.abs(r), tol.atol);
    // With atol = 0 and ref = 0, any difference is infinitely relative; equality is 0.
    const rel = denom > 0 ? err / denom : err > 0 ? Infinity : 0;
    maxRelError = Math.max(maxRelError, rel);
    const ratio = allowed > 0 ? err / allowed : err > 0 ? Infinity : 0;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  return {
    maxAbsError,
    maxRelError,
    worstIndex,
    tolerance: { atol: tol.atol, rtol: tol.rtol },
    passed: failed === 0 && nonFinite === 0,
    count: gpu.length,
    nonFinite,
  };
}

/** One line for a failure message or a log: max errors, where, and the tolerance. */
export function describeComparison(c: Comparison, gpu?: ArrayLike<number>, ref?: ArrayLike<number>): string {
  const at = c.worstIndex >= 0 && gpu && ref ? ` (gpu ${gpu[c.worstIndex]}, ref ${ref[c.worstIndex]})` : '';
  return (
    `${c.passed ? 'passed' : 'FAILED'}: max abs error ${c.maxAbsError.toExponential(3)}, ` +
    `max rel error ${c.maxRelError.toExponential(3)}, worst at index ${c.worstIndex}${at}, ` +
    `${c.nonFinite} non-finite of ${c.count}; atol ${c.tolerance.atol}, rtol ${c.tolerance.rtol}`
  );
}
