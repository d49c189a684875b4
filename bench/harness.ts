// Timing. Ours: each run is one command buffer with a compute pass per stage, timed by timestamp queries
// (src/gpu/timing.ts) and read back after the queue drains; the wall clock from submit to the drained queue
// is kept too (the figure comparable with the peers', which cannot be timed from inside their passes).
// Without the timestamp-query feature the wall clock is the only figure, labelled as such.
// Warm-up runs (pipelines built, caches and clocks settled) are dropped. CPU work: wall clock per call.

import type { GpuContext } from '../src/gpu/device.js';
import { PassTimer } from '../src/gpu/timing.js';
import { encode, type PreparedDispatch } from '../src/kernels/dispatch.js';
import { summarize, type Summary } from './metrics.js';

export interface RunOpts {
  warmup: number;
  runs: number;
}

export interface GpuStage {
  name: string;
  dispatches: PreparedDispatch[];
}

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
 * Runs `stages` warmup + runs times. `reset`, when given, encodes work that restores the inputs before each
 * run (an in-place softmax would otherwise see its own output): it is submitted and drained untimed.
 */
export async function timeStages(gpu: GpuContext, label: string, stages: GpuStage[], opts: RunOpts, reset?: (encoder: GPUCommandEncoder) => void): Promise<GpuTiming> {
  const timer = new PassTimer(gpu, stages.length);
  const runsMs: number[] = [];
  const wallMs: number[] = [];
  const perStage = new Map<string, number[]>(stages.map((s) => [s.name, []]));
  try {
    for (let run = 0; run < opts.warmup + opts.runs; run++) {
      await gpu.scoped(`${label} run ${run}`, async () => {
        if (reset) {
          const e = gpu.device.createCommandEncoder({ label: `${label} reset` });
          reset(e);
          gpu.device.queue.submit([e.finish()]);
          await gpu.drain(`${label} reset`);
        }
        const encoder = gpu.device.createCommandEncoder({ label });
        for (const stage of stages) {
          const pass = timer.beginPass(encoder, stage.name);
          for (const d of stage.dispatches) encode(pass, d);
          pass.end();
        }
        const read = timer.resolve(encoder);
        const commands = encoder.finish();
        const t0 = performance.now();
        gpu.device.queue.submit([commands]);
        await gpu.drain(label);
        const wall = performance.now() - t0;
        const times = read ? await read() : null;
        if (run < opts.warmup) return;
        wallMs.push(wall);
        if (times) {
          runsMs.push(times.reduce((sum, t) => sum + t.ms, 0));
          // Stages may repeat (one per head group): each name's passes are summed per run.
          const own = new Map<string, number>();
          for (const t of times) own.set(t.label, (own.get(t.label) ?? 0) + t.ms);
          for (const [name, ms] of own) perStage.get(name)!.push(ms);
        } else runsMs.push(wall);
      });
    }
  } finally {
    timer.destroy();
  }
  const source = timer.enabled ? 'timestamp-query' : 'wall-clock';
  const stagesMs: Record<string, number> = {};
  if (source === 'timestamp-query') for (const [name, ms] of perStage) stagesMs[name] = summarize(ms).medianMs;
  return { source, summary: summarize(runsMs), wall: summarize(wallMs), stagesMs };
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
