// Pure arithmetic of the report: throughput from FLOP and byte counts, and the fraction of an adapter's
// peak where that peak is known (order statistics of the per-run times: src/stats.ts).

import { median } from '../src/stats.js';

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
 * get no "% peak". The fp32 peaks are derived from NVIDIA's published figures for the SXM parts (SM count,
 * FP32 lanes per SM, boost clock); the H100's device-copy rate was measured on an H100 machine in an earlier
 * development session, not by this repository (bench/RESULTS.md lists what has been measured).
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
export function peakFraction(peak: Peak | null, tflops: number | null, gbps: number | null): { fraction: number; of: 'f32' | 'memory' } | null {
  if (!peak) return null;
  if (tflops !== null) return peak.fp32Tflops ? { fraction: tflops / peak.fp32Tflops, of: 'f32' } : null;
  if (gbps !== null) return peak.memoryGbps ? { fraction: gbps / peak.memoryGbps, of: 'memory' } : null;
  return null;
}

/**
 * The copy probe taken beside one row of ours (bench/copy-probe.ts): right before and right after that row's timing,
 * moving about as many bytes as the row (`bytes`, read + written). GB/s from each one's median run.
 */
export interface CopyBeside {
  bytes: number;
  beforeGbps: number;
  afterGbps: number;
  /**
   * Rounds after the row's own timing, each the probe and then ours back to back (GB/s of each): a drift of the
   * machine's speed over seconds (other work on shared cores) moves both sides of a round alike, so their ratio
   * keeps what a probe a second away cannot.
   */
  pairs?: { probeGbps: number; oursGbps: number }[];
}

/** The median, least and greatest of the rounds' ratios ours ÷ probe; null without rounds. */
export function pairedFraction(probe: CopyBeside): { median: number; min: number; max: number } | null {
  const ratios = (probe.pairs ?? []).map((p) => p.oursGbps / p.probeGbps).filter(Number.isFinite);
  return ratios.length ? { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) } : null;
}

/**
 * The row's share of the copy probe beside it: its GB/s over the larger of the two probes, so the smaller of the two
 * possible shares: a goal met against it is met against either probe, and a probe slowed by a burst of other work
 * cannot flatter the row (the mean would let it halfway). Null without a rate.
 */
export function besideFraction(gbps: number | null, probe: CopyBeside): number | null {
  const copy = Math.max(probe.beforeGbps, probe.afterGbps);
  return gbps !== null && copy > 0 && Number.isFinite(copy) ? gbps / copy : null;
}

/** What f16 rows are measured against: memory bandwidth only (bytes are precision-free; no f16 FLOP peak is known). */
export const memoryPeakOnly = (peak: Peak | null): Peak | null => (peak?.memoryGbps ? { memoryGbps: peak.memoryGbps, source: peak.source } : null);
