// What f16 storage costs in accuracy, as its own figure beside the verdict: the same stack (same
// weights, inputs and attention core) run again in f32 on the same adapter, and the distance of
// the f16 result from it. Not a check: the verification judges the kernels; this says what the
// precision itself gives away.

import type { Flags } from './args.js';
import type { AttentionConfig } from '../model/config.js';
import type { Engine, RunOptions, RunResult } from '../model/engine.js';

export interface PrecisionLoss {
  /** max |y_f16 − y_f32| / RMS(y_f32) over the output. */
  maxRelativeToRms: number;
  /** RMS(y_f16 − y_f32) / RMS(y_f32). */
  rmsRelative: number;
  layers: number;
}

/**
 * Measured for f16 runs with --precision-loss, or by default with --verify exact (small enough
 * to run twice); null otherwise (f32, an interrupted run, or not asked), with the reason.
 */
export async function measurePrecisionLoss(engine: Engine, cfg: AttentionConfig, flags: Flags, mode: string, f16: RunResult,
  options: Pick<RunOptions, 'seed' | 'weights' | 'inputs' | 'model' | 'attention'>, interrupted: boolean): Promise<PrecisionLoss | { skipped: string } | null> {
  if (cfg.precision !== 'f16') return null;
  if (interrupted) return { skipped: 'interrupted' };
  if (!(flags['precision-loss'] === true || mode === 'exact')) return { skipped: 'not measured (--precision-loss runs the stack again in f32)' };
  const f32 = await engine.run({ ...cfg, precision: 'f32', layers: f16.layersRun }, { ...options, attention: f16.plan.attention });
  let max = 0, sum2 = 0, ref2 = 0;
  for (let i = 0; i < f32.output.length; i++) {
    const d = Math.abs(f16.output[i]! - f32.output[i]!);
    max = Number.isNaN(d) ? Infinity : Math.max(max, d);
    sum2 += d * d;
    ref2 += f32.output[i]! ** 2;
  }
  const rms = Math.sqrt(ref2 / f32.output.length) || 1;
  return { maxRelativeToRms: max / rms, rmsRelative: Math.sqrt(sum2 / f32.output.length) / rms, layers: f16.layersRun };
}
