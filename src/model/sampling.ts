// The next token from a step's logits: the greedy choice (the largest logit, the lowest id on a
// tie), or with a temperature T > 0 a draw from softmax(logits / T) computed in float64. The draw
// is reproducible: step t's uniform number is the counter-based generator of ./seeded.ts,
// u = (seededValue(streamKey(seed, STREAM_SAMPLING), t, 1) + 1) / 2 in [0, 1), and the token is
// the first id whose cumulative probability exceeds u. The same seed, logits and step give the
// same token on every machine (the CPU does all of it).

import { seededValue, streamKey } from './seeded.js';

/** The sampling generator's stream (apart from the input, context and weight streams of ./seeded.ts). */
export const STREAM_SAMPLING = 3;

export interface Sampling {
  /** 0 (default): greedy. */
  temperature?: number;
  /** Seed of the draws (default 1). */
  seed?: number;
}

export function greedyToken(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Uniform in [0, 1) for draw `step`: exact, from the counter-based generator. */
export const samplingUniform = (seed: number, step: number): number => (seededValue(streamKey(seed, STREAM_SAMPLING), step, 1) + 1) / 2;

export function chooseToken(logits: ArrayLike<number>, step: number, sampling: Sampling = {}): number {
  const t = sampling.temperature ?? 0;
  if (!(t > 0)) return greedyToken(logits);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp((logits[i]! - max) / t);
  const u = samplingUniform(sampling.seed ?? 1, step) * sum;
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    acc += p[i]!;
    if (acc > u) return i;
  }
  // Rounding left u at the total: the last token with any probability.
  let last = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) last = i;
  return last;
}
