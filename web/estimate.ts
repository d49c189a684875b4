// Before Run: what a configuration costs (work, weights, GPU memory, time) and, on a software
// adapter, a refusal of what would take many minutes, with a way on (a smaller preset, or the
// "run even if slow" box). Rates measured in headless Chromium: SwiftShader ran GPT-3-wide layers
// at ≈20 MFLOP/s and filled ≈60 M weights/s; lavapipe is a few times faster. A GPU process busy
// for minutes also stalls the tab, so the estimate takes the fast side of those.

import { formatBytes, layerFlops, parameterCount, planMemory, type AttentionConfig, type Engine } from '../src/index.js';
import { PageError } from './errors.js';
import { scaled } from './report.js';

const SOFTWARE_RATE = 5e7; // FLOP/s and weights/s on a software adapter
const GPU_RATE = 1e13; // FLOP/s of a mid-range GPU at this kernel's efficiency
const DEFAULT_LIMITS = { maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 32, minStorageBufferOffsetAlignment: 256 };

/** A compatibility-mode adapter (WebGPU on OpenGL ES) lacks 'core-features-and-limits'. */
export const isCompat = (engine: Engine): boolean => !engine.gpu.adapter.features.has('core-features-and-limits' as GPUFeatureName);

/** Software, or a compat adapter that reports no name (which may be software). */
export const isSlow = (engine: Engine): boolean => engine.adapter.isSoftware || (isCompat(engine) && engine.adapter.name === 'unknown adapter');

export interface Estimate {
  flops: number;
  weights: number;
  peakBytes: number;
  softwareSeconds: number;
  gpuSeconds: number;
  text: string;
}

const seconds = (s: number): string => (s < 1 ? `${Math.max(1, Math.round(s * 1000))} ms` : s < 120 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : `${Math.round(s / 60)} min`);

export function estimate(cfg: AttentionConfig, engine: Engine | null): Estimate {
  const flops = layerFlops(cfg).total * cfg.layers;
  const weights = parameterCount(cfg).total;
  let peakBytes = NaN;
  try {
    peakBytes = planMemory(cfg, engine?.gpu.limits ?? DEFAULT_LIMITS).peakBytes;
  } catch {
    // Over the limits: the run's own check names the buffer.
  }
  const softwareSeconds = flops / SOFTWARE_RATE + weights / SOFTWARE_RATE;
  const gpuSeconds = flops / GPU_RATE + weights / 2e11;
  const slow = engine ? isSlow(engine) : null;
  const time =
    slow === null ? `≈${seconds(gpuSeconds)} on a GPU, ≈${seconds(softwareSeconds)} on a software adapter`
      : slow ? `≈${seconds(softwareSeconds)} on this software adapter` : `≈${seconds(gpuSeconds)} on a typical GPU`;
  const text =
    `Estimate: ${scaled(flops, 'FLOP')}, ${scaled(weights, '').replace(/ $/, '')} attention weights, ` +
    `GPU memory ${Number.isFinite(peakBytes) ? formatBytes(peakBytes) : 'over the limits'}; time ${time}.`;
  return { flops, weights, peakBytes, softwareSeconds, gpuSeconds, text };
}

/** Refuses work a software adapter would need many minutes for, unless `force`; `smaller` switches to a preset that fits. */
export function checkAffordable(engine: Engine, cfg: AttentionConfig, force: boolean, smaller: () => void): void {
  if (!isSlow(engine) || force) return;
  const e = estimate(cfg, engine);
  if (e.softwareSeconds <= 120) return;
  throw new PageError(
    `Refused: "${engine.adapter.name}" is a software adapter (the GPU emulated on the CPU), and this configuration ` +
      `(${(e.flops / 1e12).toFixed(2)} TFLOP, ${(e.weights / 1e9).toFixed(2)} G weights) would take about ${seconds(e.softwareSeconds)}. ` +
      `Choose fewer layers, fewer tokens or a smaller d_model; the preset "GPT-3 widths, 2 layers, 16 tokens" runs GPT-3's shapes ` +
      `in under a minute; or tick "run even if slow".`,
    'too-slow',
    ['Use GPT-3 widths, 2 layers, 16 tokens', smaller],
  );
}
