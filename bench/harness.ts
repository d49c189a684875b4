// Timing. Ours: checked first, then each run is one command buffer with a compute pass per stage, timed by
// timestamp queries and read back after the queue drains (src/gpu/timing.ts, the loop the autotuner and the
// tune scripts use too); the wall clock from submit to the drained queue is kept too (the figure comparable
// with the peers', which cannot be timed from inside their passes). Without the timestamp-query feature the
// wall clock is the only figure, labelled as such. Warm-up runs (pipelines built, caches and clocks settled)
// are dropped. CPU work: wall clock per call.

import type { GpuContext } from '../src/gpu/device.js';
import { validateThenTime, type TimedStage } from '../src/gpu/timing.js';
import { median, summarize, type Summary } from '../src/stats.js';

export interface RunOpts {
  warmup: number;
  runs: number;
}

export type GpuStage = TimedStage;

export interface GpuTiming {
  source: 'timestamp-query' | 'wall-clock';
  /** Per run: GPU ms (sum of the stages' passes) with timestamps, else the wall clock. */
  summary: Summary;
  /** Per run: submit → drained queue. */
  wall: Summary;
  /** Per stage: median GPU ms (timestamps only). */
  stagesMs: Record<string, number>;
}

/**
 * Our stages validated, then timed (src/gpu/timing.ts validateThenTime): one run checked by `check`, and
 * only a passing output timed, `warmup` + `runs` times. `reset`, when given, encodes work that restores the
 * inputs before each run (an in-place softmax would otherwise see its own output), untimed.
 */
export async function checkThenTime<C extends { passed: boolean }>(gpu: GpuContext, label: string, stages: GpuStage[], check: () => Promise<C>, opts: RunOpts, reset?: (encoder: GPUCommandEncoder) => void): Promise<{ check: C; timing: GpuTiming | null }> {
  const r = await validateThenTime(gpu, label, stages, check, { ...opts, reset });
  if (!r.timing) return { check: r.check, timing: null };
  const { source, ms, wallMs, stageMs } = r.timing;
  const stagesMs: Record<string, number> = {};
  for (const [name, list] of Object.entries(stageMs)) if (list.length) stagesMs[name] = median(list);
  return { check: r.check, timing: { source, summary: summarize(ms), wall: summarize(wallMs), stagesMs } };
}

/** Wall clock of a synchronous CPU computation; returns the last result with the timings. */
export function timeCpu<T>(fn: () => T, opts: RunOpts): { result: T; summary: Summary } {
  const samples: number[] = [];
  let result: T | undefined;
  for (let run = 0; run < opts.warmup + opts.runs; run++) {
    const t0 = performance.now();
    result = fn();
    const ms = performance.now() - t0;
    if (run >= opts.warmup) samples.push(ms);
  }
  return { result: result as T, summary: summarize(samples) };
}
