// Renders a finished run: throughput, per-stage GPU time, per-layer time, and the pattern
// heatmaps with their layer and head pickers.

import { planStages, type AttentionConfig, type RunResult, type StageTimings } from '../src/index.js';
import { cellAt, drawHeatmap, legendGradient, type DrawnHeatmap } from './heatmap.js';
import { label } from './tokens.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const STAGES: [keyof StageTimings, string][] = [
  ['qkv', 'Q, K, V projections'],
  ['scores', 'scores Q·Kᵀ'],
  ['softmax', 'softmax (mask)'],
  ['weighted', 'pattern · V'],
  ['fused', 'fused attention softmax(Q·Kᵀ)·V'],
  ['output', 'output projection + residual'],
];

/** 1234 → '1.23 k' style: software adapters run small configs at MFLOP/s, an H100 at tens of TFLOP/s. */
function scaled(value: number, unit: string): string {
  const prefixes: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  const [f, p] = prefixes.find(([f]) => value >= f) ?? [1, ''];
  return `${(value / f).toPrecision(3)} ${p}${unit}`;
}

export const formatRate = (tflops: number): string => scaled(tflops * 1e12, 'FLOP/s');

export function renderTimings(r: RunResult): void {
  const t = r.timings;
  $('results').hidden = false;
  $('tflops').textContent =
    `${formatRate(r.tflops)} over ${r.layersRun} layer${r.layersRun === 1 ? '' : 's'}` +
    ` (${scaled(r.flops.total, 'FLOP')} in ${t.gpuMs.toFixed(2)} ms of GPU time; ${t.totalMs.toFixed(1)} ms wall, ` +
    `weights ${t.weightsMs.toFixed(2)} ms${r.stopped ? '; stopped early' : ''})`;
  const table = $<HTMLTableElement>('timings');
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ['stage', 'GPU ms (all layers)', 'share']) head.appendChild(document.createElement('th')).textContent = h;
  if (t.source === 'timestamp-query') {
    const run = planStages(r.plan.attention);
    for (const [key, name] of STAGES) {
      if (!run.includes(key)) continue;
      const row = table.insertRow();
      row.dataset.stage = key;
      row.insertCell().textContent = name;
      row.insertCell().textContent = t.stagesMs[key].toFixed(3);
      row.insertCell().textContent = t.gpuMs > 0 ? `${((100 * t.stagesMs[key]) / t.gpuMs).toFixed(1)}%` : '–';
    }
  } else {
    const row = table.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 3;
    cell.textContent = 'Per-stage times need the timestamp-query feature, which this adapter lacks: the figures are wall-clock time per layer.';
  }
  const shown = t.perLayerMs.slice(0, 24).map((ms) => ms.toFixed(2));
  $('per-layer').textContent =
    `per layer (${t.source}): ${shown.join(', ')}${t.perLayerMs.length > shown.length ? ` … (${t.perLayerMs.length} layers)` : ''} ms`;
}

export interface PatternView {
  patterns: Float32Array[][];
  cfg: AttentionConfig;
  rowLabels: string[];
  colLabels: string[];
}

/** Sets up the pickers and draws layer 0 head 0; `onDraw` receives each drawn heatmap. */
export function renderPatterns(view: PatternView | null, note: string, onDraw: (d: DrawnHeatmap | null) => void): void {
  const section = $('patterns');
  $('patterns-note').textContent = note;
  section.hidden = false;
  $('legend-bar').style.background = legendGradient();
  const canvas = $<HTMLCanvasElement>('heatmap');
  const layerPick = $<HTMLSelectElement>('layer-pick');
  const headPick = $<HTMLSelectElement>('head-pick');
  if (!view || view.patterns.length === 0) {
    canvas.hidden = true;
    layerPick.replaceChildren();
    headPick.replaceChildren();
    onDraw(null);
    return;
  }
  canvas.hidden = false;
  const options = (n: number) => Array.from({ length: n }, (_, i) => new Option(String(i), String(i)));
  layerPick.replaceChildren(...options(view.patterns.length));
  headPick.replaceChildren(...options(view.cfg.heads));
  let drawn: DrawnHeatmap | null = null;
  const draw = () => {
    const layer = Number(layerPick.value);
    const head = Number(headPick.value);
    drawn = drawHeatmap(canvas, {
      layer,
      head,
      rows: view.cfg.seq,
      cols: view.cfg.contextSeq,
      values: view.patterns[layer]![head]!,
      rowLabels: view.rowLabels.map(label),
      colLabels: view.colLabels.map(label),
      causal: view.cfg.mask && !view.cfg.cross,
    });
    canvas.dataset.layer = String(layer);
    canvas.dataset.head = String(head);
    onDraw(drawn);
  };
  layerPick.onchange = draw;
  headPick.onchange = draw;
  const readout = $('cell-readout');
  canvas.onmousemove = (e) => {
    if (!drawn) return;
    // The canvas may be scaled down by CSS (max-width): map back to canvas pixels.
    const box = canvas.getBoundingClientRect();
    const hit = cellAt(drawn, ((e.clientX - box.left) * canvas.width) / box.width, ((e.clientY - box.top) * canvas.height) / box.height);
    if (!hit) return;
    const masked = drawn.causal && hit.col > hit.row;
    const v = drawn.values[hit.row * drawn.cols + hit.col]!;
    readout.textContent = `query ${hit.row} "${drawn.rowLabels[hit.row]}" → key ${hit.col} "${drawn.colLabels[hit.col]}": ${masked ? 'masked' : v.toFixed(4)}`;
  };
  draw();
}
