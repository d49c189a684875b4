// Order statistics of timing samples, one definition for the autotuner, the tune scripts and the
// benchmark. A quantile is linearly interpolated between the sorted samples at position q·(n − 1)
// (Hyndman and Fan's type 7, numpy's and R's default): q = 0 is the minimum, q = 1 the maximum,
// and q = 0.5 on an even count the mean of the two middle samples.

export interface Summary {
  medianMs: number;
  minMs: number;
  maxMs: number;
  p10Ms: number;
  p90Ms: number;
  samples: number;
}

/** Value at fraction q (0..1) of the samples, in any order; throws without samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('quantile: no samples');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q ${q} is not in [0, 1]`);
  const s = [...samples].sort((x, y) => x - y);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.ceil(pos)]! - s[lo]!) * (pos - lo);
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5);

/** Median, extremes and the 10th and 90th percentiles of per-run milliseconds (runs must be ≥ 1). */
export function summarize(samplesMs: readonly number[]): Summary {
  if (samplesMs.length === 0) throw new Error('summarize: no samples (runs must be ≥ 1)');
  return {
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    p10Ms: quantile(samplesMs, 0.1),
    p90Ms: quantile(samplesMs, 0.9),
    samples: samplesMs.length,
  };
}
