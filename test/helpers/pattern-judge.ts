// A GPU softmax row (an attention pattern row) judged by the one judge (src/verify/tolerance.ts, softmaxRowError):
// its sum may sit off 1 by at most the sum of its terms' allowances, and each term within its allowance of the
// float64 softmax of the row's own f32 scores. Where the scores are not at hand, s_j − m is recovered from the row
// itself as ln(p_j / max p): the terms' errors depend on the scores only through s_j − m.

import { softmaxRows } from '../../src/reference/attention.js';
import type { Precision } from '../../src/gpu/precision.js';
import { allowance, judge, softmaxRowError, type Judgement } from '../../src/verify/tolerance.js';

/** The distances s_j − m of a row's terms from its probabilities (a term of 0 gets a finite score that weighs 0). */
function scoresOf(row: ArrayLike<number>): Float64Array {
  let top = 0;
  for (let j = 0; j < row.length; j++) top = Math.max(top, row[j]!);
  return Float64Array.from(row, (p) => (p > 0 ? Math.log(p / top) : -1e3));
}

/** '' when |Σ − 1| is within the terms' summed allowances, else what failed. */
const sumDisagreement = (sum: number, allowed: number): string =>
  Math.abs(sum - 1) <= allowed ? '' : `the row sums to ${sum}, off 1 by ${Math.abs(sum - 1)}, more than its terms' allowances ${allowed}`;

/** |Σ row − 1| within Σ_j λ·e(p_j), the row's `visible` first terms (the rest masked); '' when it holds, else what failed. */
export function rowSumDisagreement(row: ArrayLike<number>, visible = row.length, scores: ArrayLike<number> = scoresOf(row)): string {
  const e = softmaxRowError(scores, row, visible);
  let sum = 0, allowed = 0;
  for (let j = 0; j < visible; j++) {
    sum += row[j]!;
    allowed += allowance(e[j]!, row[j]!);
  }
  return sumDisagreement(sum, allowed);
}

/**
 * A kernel's whole row against `ref`, the float64 softmax of its stored `scores`: each of the `visible` first terms
 * within its allowance (stored in `precision`: f16 adds one f16 rounding), every later (masked) term exactly 0, the sum
 * within 1 by the terms' summed allowances. '' when all hold, else the first that failed.
 */
export function rowDisagreement(row: ArrayLike<number>, scores: ArrayLike<number>, ref: ArrayLike<number>, visible: number,
  precision: Precision = 'f32'): string {
  const e = softmaxRowError(scores, ref, visible);
  let sum = 0, allowed = 0;
  for (let j = 0; j < row.length; j++) {
    const v = row[j]!;
    if (j >= visible) {
      if (v !== 0) return `key ${j} is masked but holds ${v}`;
      continue;
    }
    const tol = allowance(e[j]!, ref[j]!, precision);
    if (!(Math.abs(v - ref[j]!) <= tol)) return `key ${j}: ${v} vs ${ref[j]} (allowance ${tol})`;
    sum += v;
    allowed += tol;
  }
  return sumDisagreement(sum, allowed);
}

/** Each of the row's `visible` terms against the float64 softmax of its f32 `scores`. */
export function judgeRow(row: ArrayLike<number>, scores: ArrayLike<number>, visible: number): Judgement {
  const ref = softmaxRows(Float64Array.from({ length: visible }, (_, j) => scores[j]!), 1, visible, { causal: false });
  const e = softmaxRowError(scores, ref, visible);
  return judge(Float64Array.from({ length: visible }, (_, j) => row[j]!), ref, e.map((x, j) => allowance(x, ref[j]!)), (j) => `key ${j}`);
}
