// Renders a finished run: throughput, set-up (shader compilation) apart from the run, time per
// stage (GPU time from timestamp queries, or plainly labelled wall-clock time), time per layer,
// and the precision and normalisation that ran.

import { planStages, type AttentionConfig, type RunResult, type StageTimings } from '../src/index.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const STAGE_NAMES: Record<keyof StageTimings, string> = {
  norm: 'LayerNorm (GPT-3 pre-LN)',
  qkv: 'Q, K, V projections',
  scores: 'scores Q·Kᵀ/√d_head',
  softmax: 'mask + softmax',
  weighted: 'pattern · V',
  fused: 'fused attention softmax(Q·Kᵀ)·V',
  output: 'value-up W_O + residual',
  'mlp-norm': 'LayerNorm LN2 (before the MLP)',
  'mlp-up': 'MLP up fc1 + activation',
  'mlp-down': 'MLP down fc2 + residual',
};

/** 1234 → '1.23 k' style: software adapters run small configs at MFLOP/s, an H100 at tens of TFLOP/s. */
export function scaled(value: number, unit: string): string {
  const prefixes: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  const [f, p] = prefixes.find(([f]) => value >= f) ?? [1, ''];
  return `${(value / f).toPrecision(3)} ${p}${unit}`;
}

export const formatRate = (tflops: number): string => scaled(tflops * 1e12, 'FLOP/s');
export const seconds = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

const NORM_WORDS: Record<string, string> = {
  none: "normalisation none (the chapter's bare block x + Attn(x))",
  layernorm: "normalisation LayerNorm (GPT-3's pre-LN x + Attn(LN(x)))",
};

/** The storage and normalisation a run used, in words, for the results. */
export function runOptionsText(cfg: AttentionConfig): string {
  const precision =
    cfg.precision === 'f16'
      ? 'precision f16: weights, activations, q/k/v and patterns stored in half precision, accumulated in f32; the residual stream stays f32'
      : 'precision f32: every buffer stored in f32';
  return `${precision}; ${NORM_WORDS[cfg.norm] ?? cfg.norm}.`;
}

export function renderTimings(r: RunResult, prepareMs: number): void {
  const t = r.timings;
  const stamps = t.source === 'timestamp-query';
  $('results').hidden = false;
  delete $('results').dataset.stale;
  $('tflops').textContent =
    `${formatRate(r.tflops)} over ${r.layersRun} layer${r.layersRun === 1 ? '' : 's'}` +
    ` (${scaled(r.flops.total, 'FLOP')} in ${t.gpuMs.toFixed(2)} ms of ${stamps ? 'GPU time, from timestamp queries' : 'wall-clock time (this adapter has no GPU timestamps)'}; ` +
    `${t.totalMs.toFixed(1)} ms wall for the whole run; weights ${t.weightsMs.toFixed(2)} ms${r.stopped ? '; stopped early' : ''})`;
  const compiled = prepareMs > 30;
  let compileText = compiled
    ? `Compiling shaders and allocating buffers took ${seconds(prepareMs)} before the first layer (not counted above).`
    : `Shaders were reused from an earlier run (set-up ${prepareMs.toFixed(0)} ms).`;
  if (!stamps && compiled && t.perLayerMs.length > 1) {
    const later = [...t.perLayerMs.slice(1)].sort((a, b) => a - b)[Math.floor((t.perLayerMs.length - 1) / 2)]!;
    compileText += ` Without timestamps the first layer's ${t.perLayerMs[0]!.toFixed(1)} ms may include the driver's own compilation; the later layers' median is ${later.toFixed(1)} ms. Benchmark mode times warm runs.`;
  }
  $('compile').textContent = compileText;
  $('run-options').textContent = `Ran with ${runOptionsText(r.config)}`;
  const table = $<HTMLTableElement>('timings');
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ['stage', `${stamps ? 'GPU' : 'wall'} ms (all layers)`, 'share']) head.appendChild(document.createElement('th')).textContent = h;
  if (stamps) {
    for (const key of planStages(r.plan.attention, r.config.norm)) {
      const row = table.insertRow();
      row.dataset.stage = key;
      row.insertCell().textContent = STAGE_NAMES[key];
      row.insertCell().textContent = t.stagesMs[key].toFixed(3);
      row.insertCell().textContent = t.gpuMs > 0 ? `${((100 * t.stagesMs[key]) / t.gpuMs).toFixed(1)}%` : '–';
    }
  } else {
    const cell = table.insertRow().insertCell();
    cell.colSpan = 3;
    cell.textContent = 'Per-stage times need the timestamp-query feature, which this adapter lacks: the figures are wall-clock time per layer.';
  }
  const shown = t.perLayerMs.slice(0, 24).map((ms) => ms.toFixed(2));
  $('per-layer').textContent =
    `per layer (${stamps ? 'GPU time' : 'wall-clock'}): ${shown.join(', ')}${t.perLayerMs.length > shown.length ? ` … (${t.perLayerMs.length} layers)` : ''} ms`;
}
