// Before Run: what a configuration costs (work, weights, GPU memory, time) and, on a software
// adapter, a refusal of what would take over two minutes, with a way on: a smaller configuration
// that the same estimate lets through (never one it would refuse), or "run even if slow". Times
// come from rates measured on this adapter (src/model/rates.ts), never from a fixed guess.

import { estimateSeconds, formatBytes, layerFlops, nearestSample, parameterCount, planMemory, resolveConfig, type AttentionConfig, type Engine, type Rates } from '../src/index.js';
import { PageError } from './errors.js';
import { GPT3_WIDTHS, presetConfig, type Preset } from './params.js';
import { scaled } from './report.js';

/** Work a software adapter is refused beyond (a GPU process busy for minutes also stalls the tab). */
export const SLOW_LIMIT_S = 120;
const DEFAULT_LIMITS = { maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 32, minStorageBufferOffsetAlignment: 256 };

/** A compatibility-mode adapter (WebGPU on OpenGL ES) lacks 'core-features-and-limits'. */
export const isCompat = (engine: Engine): boolean => !engine.gpu.adapter.features.has('core-features-and-limits' as GPUFeatureName);

/** Software, or a compat adapter that reports no name (which may be software). */
export const isSlow = (engine: Engine): boolean => engine.adapter.isSoftware || (isCompat(engine) && engine.adapter.name === 'unknown adapter');

export interface Estimate {
  flops: number;
  weights: number;
  peakBytes: number;
  /** Seconds on this adapter at its measured rates; null before they are measured. */
  seconds: number | null;
  text: string;
}

export const formatSeconds = (s: number): string =>
  s < 1 ? `${Math.max(1, Math.round(s * 1000))} ms` : s < 120 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : `${Math.round(s / 60)} min`;

/**
 * A checkpoint run's extras: its tables in the memory plan, its whole parameter count, and the
 * unembedding of the last position (2·vocab·d_model FLOP) in the work.
 */
export interface ModelEstimate {
  plan: { vocab: number; positionRows: number; tiedUnembedding: boolean };
  parameters: number;
}

export function estimate(cfg: AttentionConfig, engine: Engine | null, rates: Rates | null, model: ModelEstimate | null = null): Estimate {
  const flops = layerFlops(cfg).total * cfg.layers + (model ? 2 * model.plan.vocab * cfg.dModel : 0);
  const weights = model ? model.parameters : parameterCount(cfg).total;
  let peakBytes = NaN;
  try {
    peakBytes = planMemory(cfg, engine?.gpu.limits ?? DEFAULT_LIMITS, model ? { model: model.plan } : {}).peakBytes;
  } catch {
    // Over the limits: the run's own check names the buffer.
  }
  const seconds = rates ? estimateSeconds(rates, cfg) : null;
  const sample = rates ? nearestSample(rates, cfg) : null;
  let time: string;
  if (!engine) time = 'measured once the GPU adapter is known';
  else if (!rates) time = 'measuring this adapter…';
  else if (seconds === null || !sample) time = `not measured (${rates.error ?? 'no run timed yet'})`;
  else {
    time = `≈${formatSeconds(seconds)} on this ${isSlow(engine) ? 'software adapter' : 'adapter'} ` +
      `(at the ${scaled(sample.flopsPerS, 'FLOP/s')} measured here ${sample.from === 'probe' ? 'by a probe' : 'by a run'} at d_model ${sample.dModel})`;
  }
  const text =
    `Estimate: ${scaled(flops, 'FLOP')}, ${scaled(weights, '').replace(/ $/, '')} ${model ? 'parameters' : 'attention weights'}, ` +
    `GPU memory ${Number.isFinite(peakBytes) ? formatBytes(peakBytes) : 'over the limits'}; time ${time}.`;
  return { flops, weights, peakBytes, seconds, text };
}

/** A configuration the refusal may offer instead: a preset with a few dimensions changed. */
export interface Suggestion {
  label: string;
  preset: Preset;
  overrides: Partial<AttentionConfig>;
}

/** What a refusal may offer, largest first; each is priced with the same estimate before it is offered. */
export const SUGGESTIONS: readonly Suggestion[] = [
  { label: 'GPT-3 widths, 2 layers, 16 tokens', preset: 'gpt3-widths', overrides: {} },
  { label: 'GPT-3 widths, 1 layer, 16 tokens', preset: 'gpt3-widths', overrides: { layers: 1 } },
  { label: 'GPT-3 widths, 1 layer, 4 tokens', preset: 'gpt3-widths', overrides: { layers: 1, seq: 4 } },
  { label: 'd_model 4096 (32 heads of 128), 1 layer, 16 tokens', preset: 'gpt3-widths', overrides: { layers: 1, dModel: 4096, heads: 32 } },
  { label: 'the small default (2 layers, d_model 256)', preset: 'small', overrides: {} },
];

export const suggestionConfig = (s: Suggestion): AttentionConfig => resolveConfig(s.overrides, s.preset === 'gpt3-widths' ? GPT3_WIDTHS : presetConfig(s.preset));

/** The largest suggestion this adapter runs within SLOW_LIMIT_S at its measured rates, and its time; null if none does. */
export function affordableSuggestion(rates: Rates, current: AttentionConfig): { suggestion: Suggestion; seconds: number } | null {
  const work = layerFlops(current).total * current.layers;
  for (const s of SUGGESTIONS) {
    const cfg = suggestionConfig(s);
    if (layerFlops(cfg).total * cfg.layers >= work) continue; // only ever smaller than what was refused
    const seconds = estimateSeconds(rates, cfg);
    if (seconds !== null && seconds <= SLOW_LIMIT_S) return { suggestion: s, seconds };
  }
  return null;
}

/**
 * Refuses work a software adapter would need over SLOW_LIMIT_S for at its measured rates,
 * unless `force`; offers the largest suggestion the same estimate lets through (`use` applies it).
 * Without a measurement nothing is refused on a guess.
 */
export function checkAffordable(engine: Engine, cfg: AttentionConfig, rates: Rates, force: boolean, use: (s: Suggestion) => void): void {
  if (!isSlow(engine) || force) return;
  const e = estimate(cfg, engine, rates);
  if (e.seconds === null || e.seconds <= SLOW_LIMIT_S) return;
  const offer = affordableSuggestion(rates, cfg);
  const instead = offer ? ` "${offer.suggestion.label}" takes about ${formatSeconds(offer.seconds)} here;` : '';
  throw new PageError(
    `Refused: "${engine.adapter.name}" is a software adapter (the GPU emulated on the CPU), and this configuration ` +
      `(${(e.flops / 1e12).toFixed(2)} TFLOP, ${(e.weights / 1e9).toFixed(2)} G weights) would take about ${formatSeconds(e.seconds)} ` +
      `at the rate measured here. Choose fewer layers, fewer tokens or a smaller d_model;${instead} or tick "run even if slow".`,
    'too-slow',
    offer ? [`Use ${offer.suggestion.label}`, () => use(offer.suggestion)] : undefined,
  );
}
