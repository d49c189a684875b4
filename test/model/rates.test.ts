// The adapter's measured rates and the time estimate from them (src/model/rates.ts): one implementation for the
// page's estimate (web/estimate.ts) and the CLI's software-adapter refusal (src/cli/slow-run.ts). Pure tests over
// given rates and runs; the probe's order (compile, then time) through a stand-in engine that only counts its runs.

import { describe, expect, test } from 'vitest';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import type { Engine, RunResult } from '../../src/model/engine.js';
import { layerFlops, parameterCount } from '../../src/model/flops.js';
import { PROBE_TIMED_RUNS, estimateSeconds, fromRun, knownRates, measuredRates, nearestSample, noteRun, PROBE_CONFIG, type Rates } from '../../src/model/rates.js';

const GPT3_WIDTHS = resolveConfig({ layers: 2, heads: 96, dModel: 12288, dHead: 128, seq: 16, norm: 'layernorm' });

const probeAt = (flopsPerS: number, weightsPerS: number | null, dModel = 512): Rates => ({
  samples: [{ width: dModel * 512, dModel, flopsPerS, from: 'probe' }], weightsPerS, error: null,
});

/** Just what fromRun reads of a run: its config, per-layer GPU times and weight time. */
const runOf = (cfg: AttentionConfig, perLayerMs: number[], weightsMs: number): RunResult =>
  ({ config: cfg, layersRun: perLayerMs.length, timings: { perLayerMs, weightsMs } }) as unknown as RunResult;

describe('estimateSeconds', () => {
  test('the FLOPs at the nearest measured rate plus the weights at the measured fill rate', () => {
    const r = probeAt(4.69e8, 6e7);
    const expected = (layerFlops(GPT3_WIDTHS).total * 2) / 4.69e8 + parameterCount(GPT3_WIDTHS).total / 6e7;
    expect(estimateSeconds(r, GPT3_WIDTHS)).toBeCloseTo(expected, 6);
    // Twice the rate, half the arithmetic's time: the measured rate is what prices it.
    const faster = probeAt(2 * 4.69e8, 6e7);
    expect(estimateSeconds(faster, GPT3_WIDTHS)! - parameterCount(GPT3_WIDTHS).total / 6e7)
      .toBeCloseTo((layerFlops(GPT3_WIDTHS).total * 2) / (2 * 4.69e8), 6);
  });

  test('without a fill rate only the arithmetic; without a sample no time at all', () => {
    expect(estimateSeconds(probeAt(1e9, null), GPT3_WIDTHS)).toBeCloseTo((layerFlops(GPT3_WIDTHS).total * 2) / 1e9, 6);
    expect(estimateSeconds({ samples: [], weightsPerS: 6e7, error: 'device lost' }, GPT3_WIDTHS)).toBeNull();
  });

  test('the sample nearest in width (log scale) prices a configuration; a run beats the probe at equal distance', () => {
    const r: Rates = {
      samples: [{ width: 512 * 512, dModel: 512, flopsPerS: 1e8, from: 'probe' }, { width: 12288 * 12288, dModel: 12288, flopsPerS: 5e8, from: 'run' }],
      weightsPerS: null, error: null,
    };
    expect(nearestSample(r, GPT3_WIDTHS)!.dModel).toBe(12288);
    expect(estimateSeconds(r, GPT3_WIDTHS)).toBeCloseTo((layerFlops(GPT3_WIDTHS).total * 2) / 5e8, 6);
    expect(nearestSample(r, resolveConfig({ dModel: 256, heads: 4, dHead: 64 }))!.dModel).toBe(512);
    const tie: Rates = { samples: [{ width: 512 * 512, dModel: 512, flopsPerS: 1e8, from: 'probe' }, { width: 512 * 512, dModel: 512, flopsPerS: 3e8, from: 'run' }], weightsPerS: null, error: null };
    expect(nearestSample(tie, PROBE_CONFIG)!.from).toBe('run');
  });
});

describe('rates from runs', () => {
  test('fromRun: the median layer after the first (which holds first use), its FLOPs per second; weights per second of fill', () => {
    const cfg = resolveConfig({ layers: 4, heads: 4, dModel: 512, dHead: 128, seq: 16 });
    const { sample, weightsPerS } = fromRun(runOf(cfg, [90, 10, 30, 20], 50), 'run');
    expect(sample).toEqual({ width: 512 * 512, dModel: 512, flopsPerS: layerFlops(cfg).total / 0.02, from: 'run' });
    expect(weightsPerS).toBeCloseTo(parameterCount(cfg).total / 0.05, 6);
    expect(fromRun(runOf(cfg, [0], 0), 'run')).toEqual({ sample: null, weightsPerS: null });
  });

  test('measuredRates: the probe runs once untimed, then PROBE_TIMED_RUNS timed; the median of those, once per engine; a failure is kept as the reason', async () => {
    const seeds: number[] = [];
    // The untimed first run (seed 1) is the slowest; the timed ones take 9, 5 and 7 ms a layer, their fills 8, 4, 6 ms.
    const layerMs: Record<number, number> = { 1: 500, 2: 9, 3: 5, 4: 7 };
    const engine = {
      run: async (cfg: AttentionConfig, options: { seed: number }) => {
        seeds.push(options.seed);
        expect(cfg).toEqual(PROBE_CONFIG);
        return runOf(cfg, [layerMs[options.seed]!], layerMs[options.seed]! - 1);
      },
    } as unknown as Engine;
    expect(PROBE_TIMED_RUNS).toBe(3);
    expect(knownRates(engine)).toBeNull();
    const r = await measuredRates(engine);
    expect(await measuredRates(engine)).toBe(r);
    expect(seeds).toEqual([1, 2, 3, 4]);
    expect(knownRates(engine)).toBe(r);
    // The median of the timed runs (7 ms), neither the untimed first nor the slowest or fastest timed one.
    expect(r.samples).toEqual([{ width: 512 * 512, dModel: 512, flopsPerS: layerFlops(PROBE_CONFIG).total / 0.007, from: 'probe' }]);
    expect(r.weightsPerS).toBeCloseTo(parameterCount(PROBE_CONFIG).total / 0.006, 6);

    const lost = { run: async () => Promise.reject(new Error('device lost')) } as unknown as Engine;
    expect(await measuredRates(lost)).toEqual({ samples: [], weightsPerS: null, error: 'device lost' });
  });

  test('noteRun adds a run at its width (replacing an older run there, keeping the probe) and its fill rate', async () => {
    const engine = { run: async (cfg: AttentionConfig) => runOf(cfg, [5], 4) } as unknown as Engine;
    const wide = resolveConfig({ layers: 2, heads: 8, dModel: 1024, dHead: 128, seq: 64 });
    await noteRun(engine, runOf(wide, [100, 40], 20));
    await noteRun(engine, runOf(wide, [100, 80], 20));
    const r = await measuredRates(engine);
    expect(r.samples.map((s) => [s.dModel, s.from])).toEqual([[512, 'probe'], [1024, 'run']]);
    expect(r.samples[1]!.flopsPerS).toBeCloseTo(layerFlops(wide).total / 0.08, 3);
    expect(r.weightsPerS).toBeCloseTo(parameterCount(wide).total / 0.02, 3);
  });
});
