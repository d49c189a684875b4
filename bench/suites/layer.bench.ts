// Layer and stack suites: the engine itself (Engine.run, seeded weights filled on the GPU).
//   layer: one run of warm-up + `runs` layers; the first layers (pipelines just built) are dropped and the
//          median over the rest is one layer's time, per stage too (timestamp queries).
//   stack: the whole stack once (GPT-3: 96 layers); its time is the sum of its layers' GPU times.
// Weight filling is timed in its own pass and left out of both. Checked against the float64 reference of the
// whole run where that is affordable, else by the sampled per-stage check of the last layer.
// With f16 among the precisions, the layer suite runs again with the engine's precision 'f16' (weights,
// q/k/v, pattern and weighted sums stored in f16, the residual stream f32), checked the same way (the
// engine's verification knows the f16 roundings); the stack suite stays f32.

import { layerFlops } from '../../src/model/flops.js';
import type { AttentionConfig } from '../../src/model/config.js';
import { planStages, type LayerProbe, type RunResult } from '../../src/model/engine.js';
import type { AttentionMode } from '../../src/model/plan.js';
import { seededInputs } from '../../src/model/seeded.js';
import { verifyExactLayers } from '../../src/verify/exact.js';
import { summarize, type Summary } from '../../src/stats.js';
import { failedRecord, makeRecord, type BenchRecord, type Measurement } from '../report.js';
import type { Check } from '../verify.js';
import { checkLayerSampled } from '../verify-layer.js';
import type { BenchContext } from './common.js';
import type { PeerPrecision } from '../peers/types.js';

/** Largest float64 reference (multiply-adds over all layers) recomputed in full; above it, sampled. */
const EXACT_LIMIT = 2 ** 28;

interface EngineRun {
  result: RunResult;
  check: Check;
}

async function runEngine(ctx: BenchContext, layers: number, attention: AttentionMode | 'auto' = 'auto', precision: PeerPrecision = 'f32'): Promise<EngineRun> {
  const { heads, seq, dHead, dModel } = ctx.scale.model;
  const partial: Partial<AttentionConfig> = { layers, heads, seq, dHead, dModel, mask: true, cross: false, bias: false, precision };
  const { cfg } = ctx.engine.plan(partial, { attention });
  const exact = (layerFlops(cfg).total / 2) * layers <= EXACT_LIMIT;
  let sampled: Check | null = null;
  const states: Float32Array[] = [];
  const result = await ctx.engine.run(partial, {
    seed: ctx.seed,
    attention,
    keepLayerInput: true,
    onLayer: async (_progress, probe: LayerProbe) => {
      if (exact) {
        if (states.length === 0) states.push(await probe.readInput());
        states.push(await probe.readOutput());
      } else if (probe.layer === layers - 1) sampled = await checkLayerSampled(probe, cfg, ctx.seed);
    },
  });
  if (exact) {
    const v = await verifyExactLayers(cfg, { kind: 'seeded', seed: ctx.seed }, seededInputs(ctx.seed, cfg), states);
    return { result, check: { passed: v.passed === true, maxRelError: v.maxRelError!, maxAbsError: v.maxAbsError!, worstRatio: v.worstRatio!, detail: v.passed ? '' : v.detail, what: `all ${result.output.length} outputs of each of ${layers} layers, layer-local` } };
  }
  if (!sampled) throw new Error('the sampled check of the last layer did not run');
  return { result, check: sampled };
}

function measurement(ctx: BenchContext, suite: string, name: string, layers: number, precision: PeerPrecision = 'f32'): Measurement {
  const { heads, seq, dHead, dModel } = ctx.scale.model;
  const flops = layerFlops({ layers: 1, heads, seq, dHead, dModel, maxSeq: seq, mask: true, cross: false, kvSeq: seq, bias: false, norm: 'none', precision, block: 'attention', ffn: 4 * dModel, activation: 'gelu_new', lnEps: 1e-5 }).total;
  const inner = heads * dHead;
  // Compulsory traffic of one layer: its four weight matrices (2 bytes a value in f16), x read and x written
  // (the residual stream is f32 in both).
  const bytes = (precision === 'f16' ? 2 : 4) * 4 * dModel * inner + 4 * 2 * seq * dModel;
  return {
    suite, name, impl: 'webgpu-attention', adapter: ctx.adapter,
    shape: `d_model ${dModel}, ${heads}h×${dHead}, n=${seq} causal${layers > 1 ? ` ×${layers} layers` : ''}`,
    flops: flops * layers, bytes: bytes * layers,
    ...(precision === 'f16' ? { precision: 'f16' as const } : {}),
  };
}

/** The medians of the stages the run's plan has (the fused core, or the three it replaces). */
function stagesOfPlan(result: RunResult, stagesMs: Record<string, number>): Record<string, number> {
  return Object.fromEntries(planStages(result.plan.attention).map((k) => [k, stagesMs[k]!]));
}

/** One layer with each attention core: the pattern materialized, and fused ('one layer, fused'). */
export async function layerSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const drop = Math.max(1, ctx.run.warmup);
  const records: BenchRecord[] = [];
  const runs = ctx.precisions.flatMap((precision) => (['materialized', 'fused'] as const).map((attention) => ({ precision, attention })));
  for (const { precision, attention } of runs) {
    const f16 = precision === 'f16';
    const m = measurement(ctx, 'layer', attention === 'fused' ? 'one layer, fused' : 'one layer', 1, precision);
    if (f16 && !ctx.oursF16.available) {
      records.push(failedRecord(m, 'not available', ctx.oursF16.reason, 'timestamp-query'));
      continue;
    }
    ctx.log(`layer (${attention} attention${f16 ? ', f16' : ''}): ${drop} + ${ctx.run.runs} layers, ${m.shape}`);
    try {
      const { result, check } = await runEngine(ctx, drop + ctx.run.runs, attention, precision);
      const t = result.timings;
      const stages = t.perLayerStagesMs.slice(drop);
      const stagesMs: Record<string, number> = {};
      if (stages.length) for (const key of Object.keys(stages[0]!)) stagesMs[key] = summarize(stages.map((s) => s[key as keyof typeof s])).medianMs;
      const source = t.source === 'timestamp-query' ? 'timestamp-query' : 'wall-clock';
      records.push(makeRecord(m, source, summarize(t.perLayerMs.slice(drop)), check, f16 ? null : ctx.peak, { stagesMs: stagesOfPlan(result, stagesMs) }));
    } catch (e) {
      records.push(failedRecord(m, 'error', (e as Error).message, 'timestamp-query'));
    }
  }
  return records;
}

export async function stackSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const layers = ctx.scale.stackLayers;
  const m = measurement(ctx, 'stack', `${layers} layers`, layers);
  ctx.log(`stack: ${m.shape}`);
  try {
    // The engine's own choice of attention core ('auto'), as `run` makes it.
    const { result, check } = await runEngine(ctx, layers);
    const t = result.timings;
    const total: Summary = { ...summarize([t.gpuMs]) };
    const source = t.source === 'timestamp-query' ? 'timestamp-query' : 'wall-clock';
    return [makeRecord(m, source, total, check, ctx.peak, { stagesMs: { ...stagesOfPlan(result, { ...t.stagesMs }), weights: t.weightsMs } })];
  } catch (e) {
    return [failedRecord(m, 'error', (e as Error).message, 'timestamp-query')];
  }
}
