// GPU time per compute pass from timestamp queries, read back once per batch of passes, and the
// one timing loop (timeStages) and validate-then-time (validateThenTime) that the autotuner, the
// tune scripts and the benchmark share. Without the timestamp-query feature every pass reports
// null and the loop falls back to the wall clock around a drained queue (labelled as such).

import { MapMode, Usage } from './usage.js';
import { submitAndDrain } from './buffers.js';
import type { GpuContext } from './device.js';
import { encode, type PreparedDispatch } from './dispatch.js';

export class PassTimer {
  private readonly querySet: GPUQuerySet | null;
  private readonly resolveBuffer: GPUBuffer | null;
  private readonly capacity: number;
  private labels: string[] = [];

  constructor(
    private readonly gpu: GpuContext,
    maxPasses = 512,
  ) {
    this.capacity = Math.min(maxPasses, 2048);
    if (gpu.hasTimestamps) {
      this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: this.capacity * 2, label: 'pass timer' });
      this.resolveBuffer = gpu.device.createBuffer({
        size: this.capacity * 16,
        usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC,
        label: 'pass timer resolve',
      });
    } else {
      this.querySet = null;
      this.resolveBuffer = null;
    }
  }

  get enabled(): boolean {
    return this.querySet !== null;
  }

  /** Begins a compute pass, timed when the feature exists and there is room left. */
  beginPass(encoder: GPUCommandEncoder, label: string): GPUComputePassEncoder {
    if (!this.querySet || this.labels.length >= this.capacity) return encoder.beginComputePass({ label });
    const index = this.labels.length;
    this.labels.push(label);
    return encoder.beginComputePass({
      label,
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 },
    });
  }

  /**
   * Resolves the passes begun since the last read into `encoder` and, after the caller submits,
   * `read()` returns each pass's label and milliseconds.
   */
  resolve(encoder: GPUCommandEncoder): (() => Promise<{ label: string; ms: number }[]>) | null {
    if (!this.querySet || !this.resolveBuffer || this.labels.length === 0) return null;
    const labels = this.labels;
    this.labels = [];
    const bytes = labels.length * 16;
    const staging = this.gpu.device.createBuffer({ size: bytes, usage: Usage.COPY_DST | Usage.MAP_READ, label: 'timestamps' });
    encoder.resolveQuerySet(this.querySet, 0, labels.length * 2, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, bytes);
    return async () => {
      await staging.mapAsync(MapMode.READ);
      const ticks = new BigUint64Array(staging.getMappedRange());
      const result = labels.map((label, i) => {
        const delta = Number(ticks[2 * i + 1]! - ticks[2 * i]!);
        // Some drivers report end < begin across power-state changes: such a pass counts 0.
        return { label, ms: delta > 0 ? delta / 1e6 : 0 };
      });
      staging.destroy();
      return result;
    };
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}

/** What a timing runs: compute passes in order, each with its dispatches (a pass per stage). */
export interface TimedStage {
  name: string;
  dispatches: readonly PreparedDispatch[];
}

export interface TimeOptions {
  /** Untimed runs first (pipelines built, caches and clocks settled); at least one. */
  warmup: number;
  runs: number;
  /**
   * Repeat each stage's dispatches within its pass until a run lasts this long (judged from the
   * last warm-up; at most maxRepeat, default 64), so timestamp quantization (Dawn rounds to 2¹⁶ ns
   * by default) and submission overhead stay small. Repeating must be harmless: not for
   * dispatches that accumulate into their output or work in place.
   */
  minSampleMs?: number;
  maxRepeat?: number;
  /** Encodes work that restores the inputs before every run (e.g. an in-place softmax's scores): untimed. */
  reset?: (encoder: GPUCommandEncoder) => void;
}

export interface StageTiming {
  source: 'timestamp-query' | 'wall-clock';
  /** Per timed run, ms per repetition: the passes' GPU time summed (timestamps), else the wall clock. */
  ms: number[];
  /** Per timed run, ms per repetition from submission to the drained queue. */
  wallMs: number[];
  /** Per stage name, per timed run: GPU ms of its passes summed (timestamps only; else empty). */
  stageMs: Record<string, number[]>;
  repeat: number;
}

/**
 * Times prepared dispatches: `warmup` untimed runs, then `runs` timed runs, each one command
 * buffer submitted on its own and drained (errors thrown, labelled with the run). GPU time from
 * timestamp queries when the adapter has them, else the wall clock from submission until the
 * queue drained (`source` says which).
 */
export async function timeStages(gpu: GpuContext, label: string, stages: readonly TimedStage[], opts: TimeOptions): Promise<StageTiming> {
  const timer = new PassTimer(gpu, stages.length);
  const result: StageTiming = { source: timer.enabled ? 'timestamp-query' : 'wall-clock', ms: [], wallMs: [], stageMs: {}, repeat: 1 };
  if (timer.enabled) for (const s of stages) result.stageMs[s.name] = [];
  const once = (run: number, repeat: number) =>
    gpu.scoped(`${label} run ${run}`, async () => {
      if (opts.reset) await submitAndDrain(gpu, `${label} reset`, opts.reset);
      const encoder = gpu.device.createCommandEncoder({ label });
      encodeStages(encoder, stages, repeat, timer);
      const read = timer.resolve(encoder);
      const commands = encoder.finish();
      const t0 = performance.now();
      gpu.device.queue.submit([commands]);
      await gpu.drain(label);
      const wall = (performance.now() - t0) / repeat;
      const passes = read ? await read() : [];
      const own = new Map<string, number>(); // stages may repeat a name (one per head group): summed
      for (const p of passes) own.set(p.label, (own.get(p.label) ?? 0) + p.ms / repeat);
      const gpuMs = [...own.values()].reduce((sum, ms) => sum + ms, 0);
      return { wall, gpuMs: passes.length && gpuMs > 0 ? gpuMs : null, own };
    });
  try {
    let last = 0;
    for (let i = 0; i < Math.max(1, opts.warmup); i++) {
      const t = await once(i, 1);
      last = t.gpuMs ?? t.wall;
    }
    if (opts.minSampleMs) result.repeat = Math.min(opts.maxRepeat ?? 64, Math.max(1, Math.ceil(opts.minSampleMs / Math.max(last, 1e-3))));
    for (let i = 0; i < opts.runs; i++) {
      const t = await once(opts.warmup + i, result.repeat);
      result.wallMs.push(t.wall);
      result.ms.push(t.gpuMs ?? t.wall);
      for (const [name, ms] of t.own) result.stageMs[name]?.push(ms);
    }
  } finally {
    timer.destroy();
  }
  return result;
}

/** timeStages of one prepared dispatch. */
export const timeDispatch = (gpu: GpuContext, d: PreparedDispatch, opts: TimeOptions): Promise<StageTiming> =>
  timeStages(gpu, d.label, [{ name: d.label, dispatches: [d] }], opts);

/**
 * Validate, then time: one untimed run (after `reset`), then `check` (which reads the output back
 * and compares it with a float64 reference); only an output that passed is timed.
 */
export async function validateThenTime<C extends { passed: boolean }>(
  gpu: GpuContext,
  label: string,
  stages: readonly TimedStage[],
  check: () => Promise<C>,
  opts: TimeOptions,
): Promise<{ check: C; timing: StageTiming | null }> {
  await submitAndDrain(gpu, `${label} (checked run)`, (encoder) => {
    opts.reset?.(encoder);
    encodeStages(encoder, stages, 1);
  });
  const checked = await check();
  return { check: checked, timing: checked.passed ? await timeStages(gpu, label, stages, opts) : null };
}

/** A compute pass per stage (timed when `timer` has room), its dispatches `repeat` times. */
function encodeStages(encoder: GPUCommandEncoder, stages: readonly TimedStage[], repeat: number, timer?: PassTimer): void {
  for (const stage of stages) {
    const pass = timer ? timer.beginPass(encoder, stage.name) : encoder.beginComputePass({ label: stage.name });
    for (let r = 0; r < repeat; r++) for (const d of stage.dispatches) encode(pass, d);
    pass.end();
  }
}
