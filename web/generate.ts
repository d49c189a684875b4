// Generate: the prompt's prefill, then one token at a time through the KV cache (the library's
// generate(): src/model/generate.ts, src/model/session.ts). With a checkpoint each new token is
// chosen from the previous logits (greedy, or drawn at the form's temperature from the seed) and
// appended to the text as it comes; with seeded weights step t feeds row seq + t of the seeded
// input sequence. After every step the new token's pattern row of every layer and head (softmax of
// its query against every cached key, from the GPU's q) is drawn as one more row, and the step's
// time, the keys it read and its verification are listed; the summary gives tokens per second and
// the bytes a step reads over its time.

import { ConfigError, generate, type DecodeStep, type Engine, type GenerateResult } from '../src/index.js';
import { escapeUntrusted } from '../src/io/escape.js';
import { drawMatrix, type Matrix } from './heatmap.js';
import type { PageState } from './params.js';
import type { PreparedRun } from './run.js';
import { label } from './tokens.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** What window.webgpuAttention.lastGenerate holds for automation. */
export interface GenerateRecord {
  config: GenerateResult['config'];
  /** The prompt's ids, and with a checkpoint the ids chosen (the prefill's choice, then one per step). */
  prompt: number[];
  generated: number[] | null;
  /** The continuation's text (checkpoint: decoded with its tokenizer), raw. */
  text: string | null;
  steps: { step: number; position: number; n: number; ms: number; verifyMs: number; bytes: number; token: number | null; passed: boolean | null }[];
  tokensPerSecond: number;
  bytesPerStep: number;
  gbPerSecond: number;
  verification: { mode: string; passed: boolean | null; text: string };
  /** [step][layer][head][key]: each step's pattern row over its n keys (empty when not drawn: rows=0). */
  patternRows: number[][][][];
  stopped: boolean;
  /** What the steps' times include. */
  timing: string;
}

/** Refuses a bad step count or temperature naming the form's field, before any GPU work. */
export function checkGenerateFields(s: PageState): void {
  if (!Number.isInteger(s.steps) || s.steps < 1) throw new ConfigError(`“tokens (Generate)” must be a positive whole number, got ${Number.isNaN(s.steps) ? 'an empty or non-numeric value' : s.steps}`);
  if (!(Number.isFinite(s.temperature) && s.temperature >= 0 && s.temperature <= 1e6)) {
    throw new ConfigError(`“temperature” must be a number from 0 to 1e6 (0: the most likely token), got ${Number.isNaN(s.temperature) ? 'an empty or non-numeric value' : s.temperature}`);
  }
}

interface RowsView {
  /** Token strings of every position so far (prompt, then generated inputs). */
  labels: string[];
  /** [step][layer][head] rows over n keys. */
  rows: Float32Array[][][];
  total: number;
  layers: number;
  heads: number;
  pick: { layer: number; head: number };
}

function rowsMatrix(v: RowsView, layer: number, head: number, seq: number): Matrix {
  const cols = v.total;
  const rows = v.rows.length;
  const shade = new Float32Array(rows * cols);
  v.rows.forEach((step, r) => shade.set(step[layer]![head]!, r * cols));
  return {
    rows, cols, shade,
    masked: (r, c) => c >= seq + r + 1,
    rowLabels: v.rows.map((_, r) => v.labels[seq + r] ?? `step ${r + 1}`),
    colLabels: Array.from({ length: cols }, (_, c) => v.labels[c] ?? ''),
  };
}

/** Draws the grid (layers × heads, each its rows so far) and the chosen head enlarged. */
function drawRows(v: RowsView, seq: number): void {
  const grid = $('generation-grid');
  const big = $<HTMLCanvasElement>('generation-rows');
  if (v.rows.length === 0) return;
  const cells = v.layers * v.heads;
  $('generation-grid-note').textContent = cells > 1024 ? `Not drawn: ${v.layers} layers × ${v.heads} heads is over the 1024 small maps the page draws.` : '';
  if (cells <= 1024) {
    const size = Math.max(24, Math.min(96, Math.floor(((grid.parentElement?.clientWidth || 560) - 48) / v.heads) - 6));
    if (grid.childElementCount !== (v.layers + 1) * (v.heads + 1)) {
      grid.style.gridTemplateColumns = `auto repeat(${v.heads}, auto)`;
      const children: HTMLElement[] = [document.createElement('span')];
      for (let h = 0; h < v.heads; h++) children.push(Object.assign(document.createElement('span'), { className: 'mv-label', textContent: `H${h + 1}` }));
      for (let l = 0; l < v.layers; l++) {
        children.push(Object.assign(document.createElement('span'), { className: 'mv-label', textContent: `L${l + 1}` }));
        for (let h = 0; h < v.heads; h++) {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'mv-cell';
          b.dataset.layer = String(l);
          b.dataset.head = String(h);
          b.setAttribute('aria-label', `layer ${l + 1}, head ${h + 1}: the generated tokens' pattern rows`);
          b.appendChild(document.createElement('canvas')).setAttribute('aria-hidden', 'true');
          b.onclick = () => {
            v.pick = { layer: l, head: h };
            drawRows(v, seq);
          };
          children.push(b);
        }
      }
      grid.replaceChildren(...children);
    }
    for (const b of grid.querySelectorAll<HTMLButtonElement>('button.mv-cell')) {
      const l = Number(b.dataset.layer);
      const h = Number(b.dataset.head);
      drawMatrix(b.querySelector('canvas')!, rowsMatrix(v, l, h, seq), size, false);
      b.setAttribute('aria-pressed', String(l === v.pick.layer && h === v.pick.head));
    }
  }
  const m = rowsMatrix(v, v.pick.layer, v.pick.head, seq);
  drawMatrix(big, m, Math.min(720, Math.max(240, (big.parentElement?.clientWidth || 560) - 8)));
  big.dataset.layer = String(v.pick.layer);
  big.dataset.head = String(v.pick.head);
  big.dataset.rows = String(m.rows);
  const caption = `layer ${v.pick.layer + 1}, head ${v.pick.head + 1}: one row per generated token (the newest at the bottom), over the keys it attended`;
  $('generation-rows-caption').textContent = caption;
  big.setAttribute('aria-label', caption);
}

export interface GenerateHooks {
  signal: AbortSignal;
  onProgress: (text: string, value?: number | null, max?: number) => void;
}

/**
 * Runs the prefill and `s.steps` decode steps, drawing as it goes. `decodeText(ids)` turns the ids
 * so far into text (a checkpoint's tokenizer), or null without one.
 */
export async function runGenerate(engine: Engine, p: PreparedRun, s: PageState, hooks: GenerateHooks,
  decodeText: ((ids: number[]) => string) | null): Promise<GenerateRecord> {
  checkGenerateFields(s);
  const cfg = p.cfg;
  const model = p.model ? { tensors: await p.model.loaded.checkpoint.modelTensors(), tokens: p.model.tokens } : undefined;
  const weights = p.model ? p.model.loaded.checkpoint.weightSource(cfg.layers)
    : p.weights ? { kind: 'tensors' as const, layer: (l: number) => p.weights![l]! } : undefined;
  const section = $('generation');
  section.hidden = false;
  delete section.dataset.stale;
  const prompt = p.tokens?.ids ?? [];
  const labels = (p.tokens?.strings ?? Array.from({ length: cfg.seq }, (_, i) => `row ${i + 1}`)).map(label);
  const view: RowsView = { labels, rows: [], total: cfg.seq + s.steps, layers: cfg.layers, heads: cfg.heads, pick: { layer: cfg.layers - 1, head: 0 } };
  $('generation-grid').replaceChildren();
  $('generation-grid-note').textContent = s.rows ? '' : "Not drawn: “draw each step's pattern rows” is off (the steps are timed without reading them back).";
  const big = $<HTMLCanvasElement>('generation-rows');
  big.hidden = !s.rows;
  delete big.dataset.rows;
  big.getContext('2d')?.clearRect(0, 0, big.width, big.height);
  $('generation-rows-caption').textContent = '';
  $('generation-steps').replaceChildren();
  const textBox = $('generation-text');
  const chips = (ids: number[], strings: string[], cls: string) => ids.map((id, i) => {
    const chip = document.createElement('span');
    chip.className = cls;
    chip.textContent = strings[i] ?? '';
    chip.appendChild(document.createElement('small')).textContent = ` ${id}`;
    return chip;
  });
  textBox.replaceChildren(...(p.tokens ? chips(p.tokens.ids, p.tokens.strings, 'prompt') : [Object.assign(document.createElement('span'), { textContent: `${cfg.seq} seeded rows` })]));
  const verifying = s.verify === 'exact';
  const syncs = verifying || s.rows;
  const timing = syncs
    ? `each step's time excludes its ${verifying ? 'checks' : 'pattern rows'}, but waits for the GPU after every layer to read its rows: for decode timings choose verification none and untick “draw each step's pattern rows”`
    : 'verification none and no pattern rows: each step runs its layers back to back';
  $('generation-summary').textContent = 'prefill: running the prompt and filling the KV cache…';
  const stepRows: GenerateRecord['steps'] = [];
  const patternRows: number[][][][] = [];
  const header = document.createElement('tr');
  for (const h of ['step', 'token', 'text', 'keys n', 'ms', 'read', 'verified']) header.appendChild(document.createElement('th')).textContent = h;
  $('generation-steps').append(header);
  const generatedText = (ids: number[]) => (decodeText ? decodeText(ids) : null);
  hooks.onProgress('prefill: the prompt through every layer…', null);
  const result = await generate(engine, cfg, {
    seed: s.seed, weights, model, inputs: p.model ? undefined : p.inputs ?? undefined,
    steps: s.steps, sampling: { temperature: s.temperature, seed: s.seed },
    verify: verifying ? 'exact' : 'none', patternRows: s.rows, signal: hooks.signal,
    onPrefill: (prefill, next) => {
      hooks.onProgress(`prefill done (${prefill.timings.totalMs.toFixed(0)} ms); step 1/${s.steps}…`, 0, s.steps);
      if (next !== null) {
        const text = generatedText([next]) ?? '';
        textBox.append(...chips([next], [text], 'generated'));
      }
    },
    onStep: (step: DecodeStep, next) => {
      const passed = step.checks.length || step.endChecks.length ? step.checks.every((c) => c.passed) && step.endChecks.every((c) => c.passed) : null;
      stepRows.push({ step: step.step, position: step.position, n: step.n, ms: step.ms, verifyMs: step.verifyMs, bytes: step.bytes, token: step.token, passed });
      if (!p.model) view.labels.push(`step ${step.step + 1}`);
      else view.labels[step.position] = label(generatedText([step.token!]) ?? String(step.token));
      // With pattern rows asked for, the step gives them: each layer's and head's softmax row over its n keys.
      if (step.patternRows) {
        patternRows.push(step.patternRows.map((layer) => layer.map((row) => Array.from(row))));
        view.rows.push(step.patternRows);
        drawRows(view, cfg.seq);
      }
      const tr = document.createElement('tr');
      const tokenText = step.token === null ? '(seeded row)' : `“${escapeUntrusted(generatedText([step.token]) ?? '', 30)}”`;
      for (const v of [String(step.step + 1), step.token === null ? '—' : String(step.token), tokenText, String(step.n), step.ms.toFixed(1),
        `${(step.bytes / 2 ** 20).toFixed(1)} MiB`, passed === null ? 'not checked' : passed ? 'passed' : 'FAILED']) {
        tr.appendChild(document.createElement('td')).textContent = v;
      }
      $('generation-steps').append(tr);
      if (next !== null) {
        textBox.append(...chips([next], [generatedText([next]) ?? ''], 'generated'));
      }
      hooks.onProgress(`step ${step.step + 1}/${s.steps}: ${step.ms.toFixed(1)} ms, ${step.n} keys`, step.step + 1, s.steps);
    },
  });
  const d = result.decode;
  const v = d.verification;
  const verdict = v.passed === null ? 'not verified (verification none)' : v.passed ? `every step verified (${v.detail})` : `FAILED: ${v.detail}`;
  const summary = `${d.steps.length} step(s) after a prefill of ${cfg.seq} tokens: ${d.tokensPerSecond.toFixed(2)} tokens/s, ` +
    `${(d.bytesPerStep / 2 ** 20).toFixed(1)} MiB read per step (weights, cached K and V${p.model ? ', unembedding' : ''}), ` +
    `${d.gbPerSecond.toFixed(3)} GB/s; ${verdict}. Times: ${timing}.`;
  $('generation-summary').textContent = summary;
  const generated = result.generated;
  return {
    config: result.config, prompt, generated, text: generated && decodeText ? decodeText(generated) : null,
    steps: stepRows, tokensPerSecond: d.tokensPerSecond, bytesPerStep: d.bytesPerStep, gbPerSecond: d.gbPerSecond,
    verification: { mode: v.mode, passed: v.passed, text: verdict }, patternRows, stopped: result.stopped, timing,
  };
}
