// Pure arithmetic of the report: order statistics of the per-run times, throughput from FLOP and byte
// counts, and the fraction of an adapter's peak where that peak is known.

export interface Summary {
  medianMs: number;
  minMs: number;
  maxMs: number;
  p10Ms: number;
  p90Ms: number;
  samples: number;
}

/** Value at fraction q of the sorted samples, linearly interpolated (q = 0.5 on an even count: mean of the middle two). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile: no samples');
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samplesMs: readonly number[]): Summary {
  if (samplesMs.length === 0) throw new Error('summarize: no samples (runs must be ≥ 1)');
  const s = [...samplesMs].sort((x, y) => x - y);
  return {
    medianMs: quantile(s, 0.5),
    minMs: s[0]!,
    maxMs: s[s.length - 1]!,
    p10Ms: quantile(s, 0.1),
    p90Ms: quantile(s, 0.9),
    samples: s.length,
  };
}

/** TFLOP/s of `flops` floating-point operations done in `ms` milliseconds (null without work or time). */
export const tflopsOf = (flops: number, ms: number): number | null => (flops > 0 && ms > 0 ? flops / (ms * 1e9) : null);

/** GB/s (10⁹ bytes per second) of `bytes` moved in `ms` milliseconds. */
export const gbpsOf = (bytes: number, ms: number): number | null => (bytes > 0 && ms > 0 ? bytes / (ms * 1e6) : null);

export interface Peak {
  /** fp32 FMA peak, TFLOP/s (2 FLOPs per FMA). */
  fp32Tflops?: number;
  /** Device memory, GB/s of read + write traffic. */
  memoryGbps?: number;
  source: string;
}

/**
 * Known peaks, matched against the adapter's vendor, architecture, device and description. Unknown adapters
 * get no "% peak". Figures from /work/shared/PLATFORM.md (measured or derived on the H100 machine).
 */
export const KNOWN_PEAKS: readonly { match: RegExp; peak: Peak }[] = [
  {
    match: /h100/i,
    peak: { fp32Tflops: 67, memoryGbps: 3000, source: 'H100: 132 SMs × 128 lanes × 2 × 1.98 GHz; device copy ≈ 3.0 TB/s' },
  },
  {
    // Same GH100 SM count and clocks as the H100 SXM; its memory copy rate has not been measured here.
    match: /h200/i,
    peak: { fp32Tflops: 67, source: 'H200: 132 SMs × 128 lanes × 2 × 1.98 GHz (memory peak not measured)' },
  },
];

export function peakFor(adapter: string): Peak | null {
  return KNOWN_PEAKS.find((k) => k.match.test(adapter))?.peak ?? null;
}

/**
 * Fraction of the peak that bounds this kind of work: fp32 FLOPs for compute-bound work (anything with
 * FLOPs counted), memory bandwidth for memory-bound work (softmax). Null when that peak is unknown.
 */
export function peakFraction(peak: Peak | null, tflops: number | null, gbps: number | null): { fraction: number; of: 'fp32' | 'memory' } | null {
  if (!peak) return null;
  if (tflops !== null) return peak.fp32Tflops ? { fraction: tflops / peak.fp32Tflops, of: 'fp32' } : null;
  if (gbps !== null) return peak.memoryGbps ? { fraction: gbps / peak.memoryGbps, of: 'memory' } : null;
  return null;
}
