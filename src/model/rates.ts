// How fast this adapter runs the stack, measured on it: a short probe when the adapter is first
// used (one layer at d_model 512, 4 heads of 128, 16 tokens, run once untimed, then three times: the
// median timed run's GPU time, after the pipelines' first use and shader compilation, gives the
// arithmetic's FLOP/s and the weight generation's weights/s), then every finished run may add what it measured (the page
// does). A fixed rate was 8–9× off on SwiftShader (issue 21): software adapters differ by an order
// of magnitude between machines and with load, and their rate changes with the matrix widths, so
// an estimate takes the measurement nearest in width to the configuration it prices. One
// implementation for the page's estimate and the CLI's software-adapter refusal (no Node, no DOM).

import { resolveConfig, type AttentionConfig } from './config.js';
import type { Engine } from './engine.js';
import { layerFlops, parameterCount } from './flops.js';
import type { RunResult } from './run-types.js';
import { median } from '../stats.js';

export interface RateSample {
  /** d_model · heads·d_head of the measured run: how wide its projections were. */
  width: number;
  dModel: number;
  /** FLOP per second of the layers' arithmetic (from timestamp queries, or wall clock). */
  flopsPerS: number;
  /** 'probe' or 'run'. */
  from: 'probe' | 'run';
}

export interface Rates {
  samples: RateSample[];
  /** Seeded weights generated (or uploaded) per second; null where it was not timed apart. */
  weightsPerS: number | null;
  /** Why there is no measurement, when the probe failed. */
  error: string | null;
}

/** The probe: small enough for a second or two on SwiftShader, wide enough to use the tiled matmul paths. */
export const PROBE_CONFIG: AttentionConfig = resolveConfig({ layers: 1, heads: 4, dHead: 128, dModel: 512, seq: 16 });

const rates = new WeakMap<Engine, Promise<Rates>>();
const known = new WeakMap<Engine, Rates>();

/** The engine's rates if its probe has finished, else null (never starts the probe). */
export const knownRates = (engine: Engine): Rates | null => known.get(engine) ?? null;

/** Rates from one run: the median layer after the first (which holds first-use work), else the first. */
export function fromRun(result: RunResult, from: 'probe' | 'run'): { sample: RateSample | null; weightsPerS: number | null } {
  const cfg = result.config;
  const layers = result.timings.perLayerMs.slice(0, result.layersRun);
  const steady = layers.length > 1 ? layers.slice(1) : layers;
  const sorted = [...steady].sort((a, b) => a - b);
  const ms = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const flops = layerFlops(cfg).total;
  const sample = ms > 0 ? { width: cfg.dModel * cfg.heads * cfg.dHead, dModel: cfg.dModel, flopsPerS: flops / (ms / 1000), from } : null;
  const weights = (parameterCount(cfg).perLayer) * result.layersRun;
  const weightsPerS = result.timings.weightsMs > 0 ? weights / (result.timings.weightsMs / 1000) : null;
  return { sample, weightsPerS };
}

/**
 * Timed runs of the probe after the untimed first. The first timed run is still often the slowest (on lavapipe the
 * probe read 3.2–4.7 GFLOP/s there against 6.5–10.8 in the runs after it, in every process tried), and one run alone
 * swings: the median of three takes neither.
 */
export const PROBE_TIMED_RUNS = 3;


/** The adapter's rates: measured once per engine by the probe (later calls share it). */
export function measuredRates(engine: Engine): Promise<Rates> {
  let p = rates.get(engine);
  if (!p) {
    p = (async (): Promise<Rates> => {
      // The first run compiles and first-uses every pipeline (and its weight fill); the next ones are timed.
      await engine.run(PROBE_CONFIG, { seed: 1 });
      const runs: ReturnType<typeof fromRun>[] = [];
      for (let i = 0; i < PROBE_TIMED_RUNS; i++) runs.push(fromRun(await engine.run(PROBE_CONFIG, { seed: 2 + i }), 'probe'));
      // Every timed run is the same configuration: one sample, its rate the runs' median (src/stats.ts).
      const samples = runs.flatMap((r) => (r.sample ? [r.sample] : []));
      const sample = samples[0] ? { ...samples[0], flopsPerS: median(samples.map((s) => s.flopsPerS)) } : null;
      const fills = runs.flatMap((r) => (r.weightsPerS === null ? [] : [r.weightsPerS]));
      const weightsPerS = fills.length ? median(fills) : null;
      return { samples: sample ? [sample] : [], weightsPerS, error: sample ? null : 'the probe runs reported no time' };
    })().catch((e: unknown) => ({ samples: [], weightsPerS: null, error: e instanceof Error ? e.message : String(e) }))
      .then((r: Rates) => {
        known.set(engine, r);
        return r;
      });
    rates.set(engine, p);
  }
  return p;
}

/** Adds what a finished run measured (a run of the same width replaces the older sample). */
export async function noteRun(engine: Engine, result: RunResult): Promise<void> {
  const r = await measuredRates(engine);
  const { sample, weightsPerS } = fromRun(result, 'run');
  if (sample) {
    r.samples = [...r.samples.filter((s) => s.width !== sample.width || s.from === 'probe'), sample];
    r.error = null;
  }
  if (weightsPerS !== null) r.weightsPerS = weightsPerS;
}

/** The sample nearest in width (on a log scale) to `cfg`'s projections; a run beats the probe at equal distance. */
export function nearestSample(r: Rates, cfg: AttentionConfig): RateSample | null {
  const width = cfg.dModel * cfg.heads * cfg.dHead;
  let best: RateSample | null = null;
  let bestDistance = Infinity;
  for (const s of r.samples) {
    const d = Math.abs(Math.log(s.width / width));
    if (d < bestDistance - 1e-9 || (Math.abs(d - bestDistance) <= 1e-9 && s.from === 'run')) {
      best = s;
      bestDistance = d;
    }
  }
  return best;
}

/** Seconds `cfg` would take here: its FLOPs at the nearest measured rate, plus its weights at the measured fill rate. */
export function estimateSeconds(r: Rates, cfg: AttentionConfig): number | null {
  const s = nearestSample(r, cfg);
  if (!s) return null;
  const flops = layerFlops(cfg).total * cfg.layers;
  const weights = parameterCount(cfg).total;
  return flops / s.flopsPerS + (r.weightsPerS ? weights / r.weightsPerS : 0);
}
