// Benchmark mode: the ordinary run serves as the warm-up (it compiles the shaders, and is the
// one verified); then N timed repeats of the same configuration on the same attention core,
// reported as median, min and max per stage. GPU time from timestamp queries where the adapter
// has them, else wall-clock time, labelled so. The results are copyable as JSON.

import type { RunResult, StageTimings } from '../src/index.js';
import { STAGE_NAMES } from './report.js';
import { planStages } from '../src/index.js';

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export interface BenchResult {
  repeats: number;
  source: 'timestamp-query' | 'wall-clock';
  /** Set-up of the warm-up run (shader compilation, buffers) before its first layer. */
  compileMs: number;
  warmupMs: number;
  /** Per repeat: all layers' GPU (or wall-clock) time. */
  totalMs: Stat;
  wallMs: Stat;
  stagesMs: Partial<Record<keyof StageTimings, Stat>>;
  tflops: Stat;
  samples: number[];
}

export function stat(values: number[]): Stat {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return { median: v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2, min: v[0]!, max: v[v.length - 1]! };
}

export function summarize(warmup: RunResult, compileMs: number, runs: RunResult[]): BenchResult {
  const source = runs[0]!.timings.source;
  const stagesMs: BenchResult['stagesMs'] = {};
  if (source === 'timestamp-query') {
    for (const key of planStages(runs[0]!.plan.attention, runs[0]!.config.norm, runs[0]!.config.block)) stagesMs[key] = stat(runs.map((r) => r.timings.stagesMs[key]));
  }
  return {
    repeats: runs.length, source, compileMs, warmupMs: warmup.timings.totalMs,
    totalMs: stat(runs.map((r) => r.timings.gpuMs)),
    wallMs: stat(runs.map((r) => r.timings.totalMs)),
    stagesMs,
    tflops: stat(runs.map((r) => r.tflops)),
    samples: runs.map((r) => r.timings.gpuMs),
  };
}

const f = (s: Stat, digits = 3) => [s.median, s.min, s.max].map((v) => v.toFixed(digits));

export function renderBench(b: BenchResult, json: object): void {
  const section = document.getElementById('bench')!;
  section.hidden = false;
  delete section.dataset.stale;
  const what = b.source === 'timestamp-query' ? 'GPU time (timestamp queries)' : 'wall-clock time (this adapter has no GPU timestamps)';
  document.getElementById('bench-summary')!.textContent =
    `${b.repeats} timed runs after a warm-up; ${what}. Compiling shaders (warm-up run, before its first layer): ${(b.compileMs / 1000).toFixed(2)} s.`;
  const table = document.getElementById('bench-table') as HTMLTableElement;
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ['', 'median ms', 'min ms', 'max ms']) head.appendChild(document.createElement('th')).textContent = h;
  const row = (name: string, s: Stat, key?: string) => {
    const r = table.insertRow();
    if (key) r.dataset.stage = key;
    r.insertCell().textContent = name;
    for (const v of f(s)) r.insertCell().textContent = v;
  };
  for (const [key, s] of Object.entries(b.stagesMs)) row(STAGE_NAMES[key as keyof StageTimings], s, key);
  row(b.source === 'timestamp-query' ? 'all stages, GPU' : 'all layers, wall-clock', b.totalMs, 'total');
  row('whole run, wall-clock', b.wallMs, 'wall');
  const pre = document.getElementById('bench-json')!;
  pre.textContent = JSON.stringify(json, null, 2);
  const copy = document.getElementById('bench-copy') as HTMLButtonElement;
  copy.onclick = async () => {
    try {
      await navigator.clipboard.writeText(pre.textContent ?? '');
      copy.textContent = 'Copied';
    } catch {
      // No clipboard permission: select the text so Ctrl-C copies it.
      getSelection()?.selectAllChildren(pre);
      copy.textContent = 'Selected: press Ctrl-C';
    }
  };
}
