// The page: configuration form (mirrored in the URL), a GPU run with progress, timings, pattern
// heatmaps, and verification against the float64 CPU reference in a worker.
// Tests read window.__webgpuAttention: the read-back patterns and the values behind the heatmap.

import type { AttentionConfig, RunResult } from '../src/index.js';
import { clearError, describeError, PageError, showError } from './errors.js';
import { applyEdit, showState } from './form.js';
import { colorFor, HATCH_RGB, MASKED_RGB, type DrawnHeatmap } from './heatmap.js';
import { parseState, type PageState } from './params.js';
import { renderPatterns, renderTimings } from './report.js';
import { adapterLabel, getEngine, prepare, runOnGpu, setLostHandler } from './run.js';
import { tokenize } from './tokens.js';
import { refusal, Verifier } from './verify.js';

export interface PageData {
  state: 'idle' | 'running' | 'verifying' | 'done' | 'error';
  config: AttentionConfig | null;
  seed: number;
  tokens: { ids: number[]; strings: string[]; contextIds: number[] | null; contextStrings: string[] | null } | null;
  adapter: RunResult['adapter'] | null;
  timings: RunResult['timings'] | null;
  tflops: number | null;
  /** RunResult.patterns as read back from the GPU: [layer][head], seq × contextSeq each. */
  patterns: Float32Array[][] | null;
  heatmap: DrawnHeatmap | null;
  verification: string | null;
  error: string | null;
  colorFor: typeof colorFor;
  maskedRgb: readonly number[];
  hatchRgb: readonly number[];
}

declare global {
  interface Window {
    __webgpuAttention: PageData;
  }
}

const data: PageData = {
  state: 'idle', config: null, seed: 1, tokens: null, adapter: null, timings: null, tflops: null, patterns: null,
  heatmap: null, verification: null, error: null, colorFor, maskedRgb: MASKED_RGB, hatchRgb: HATCH_RGB,
};
window.__webgpuAttention = data;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
let state: PageState = parseState(location.search);
const verifier = new Verifier();
let controller: AbortController | null = null;
let runId = 0;

function fail(e: unknown): void {
  data.state = 'error';
  data.error = describeError(e).text;
  showError(e);
}

function setVerification(kind: 'idle' | 'pending' | 'passed' | 'failed' | 'refused' | 'skipped', text: string): void {
  const el = $('verification');
  el.dataset.state = kind;
  el.textContent = text;
  data.verification = text;
}

/** Token chips and the sequence lengths they imply, refreshed as the text is typed. */
async function refreshTokens(): Promise<void> {
  if (state.input !== 'text') {
    $('tokens').replaceChildren();
    showState(state);
    return;
  }
  const [t, c] = await Promise.all([tokenize(state.text), state.overrides.cross ? tokenize(state.contextText) : null]);
  $('tokens').replaceChildren(
    ...t.ids.map((id, i) => {
      const chip = document.createElement('span');
      chip.textContent = t.strings[i]!;
      chip.appendChild(document.createElement('small')).textContent = ` ${id}`;
      return chip;
    }),
  );
  showState(state, { seq: t.ids.length, contextSeq: c?.ids.length });
}

let current: Promise<void> = Promise.resolve();

/** Starts a run; one already going is stopped first (after its layer) so two never share the device's error scopes. */
function run(): Promise<void> {
  const id = ++runId;
  controller?.abort();
  verifier.cancel();
  // Created now, not when the run starts: Stop pressed while the previous run winds down stops this one.
  const own = new AbortController();
  controller = own;
  current = current.then(() => (id === runId ? runOnce(id, own.signal) : undefined)).catch(fail);
  return current;
}

async function runOnce(id: number, signal: AbortSignal): Promise<void> {
  clearError();
  Object.assign(data, { state: 'running', error: null, patterns: null, heatmap: null, timings: null, tflops: null, seed: state.seed });
  setVerification('pending', 'running on the GPU…');
  $<HTMLButtonElement>('stop').disabled = false;
  const progress = $<HTMLProgressElement>('progress');
  const progressText = $('progress-text');
  try {
    const p = await prepare(state);
    data.config = p.cfg;
    data.tokens = p.tokens && {
      ids: p.tokens.ids, strings: p.tokens.strings, contextIds: p.contextTokens?.ids ?? null, contextStrings: p.contextTokens?.strings ?? null,
    };
    progressText.textContent = 'requesting the GPU adapter…';
    const engine = await getEngine();
    $('adapter').textContent = `adapter: ${adapterLabel(engine)}`;
    data.adapter = engine.adapter;
    progress.max = p.cfg.layers;
    progress.value = 0;
    progressText.textContent = `layer 0/${p.cfg.layers}`;
    const gpu = await runOnGpu(engine, p, state, (l) => {
      progress.value = l.layer + 1;
      progressText.textContent = `layer ${l.layer + 1}/${l.layers} (${l.layerMs.toFixed(2)} ms, ${(l.elapsedMs / 1000).toFixed(1)} s elapsed)`;
    }, signal);
    if (id !== runId) return; // a newer run replaced this one
    const r = gpu.result;
    progressText.textContent = r.stopped ? `stopped after layer ${r.layersRun}/${p.cfg.layers}` : `done: ${r.layersRun}/${p.cfg.layers} layers`;
    Object.assign(data, { timings: r.timings, tflops: r.tflops, patterns: r.patterns });
    renderTimings(r);
    const rowLabels = p.tokens?.strings ?? Array.from({ length: p.cfg.seq }, (_, i) => `q${i}`);
    const colLabels = p.contextTokens?.strings ?? (p.cfg.cross ? Array.from({ length: p.cfg.contextSeq }, (_, i) => `c${i}`) : rowLabels);
    const patterns = r.patterns?.slice(0, r.layersRun) ?? null;
    renderPatterns(patterns && { patterns, cfg: p.cfg, rowLabels, colLabels }, gpu.captureNote, (d) => (data.heatmap = d));
    await verify(id, p.cfg, p.inputs, r, gpu.states);
    if (id === runId) data.state = 'done';
  } catch (e) {
    if (id !== runId) return;
    fail(e);
    setVerification('skipped', 'not verified: the run failed (see the error above)');
    progressText.textContent = 'failed';
  } finally {
    if (id === runId) $<HTMLButtonElement>('stop').disabled = true;
  }
}

async function verify(id: number, cfg: AttentionConfig, inputs: Parameters<Verifier['run']>[0]['inputs'], r: RunResult, states: Float32Array[]): Promise<void> {
  if (state.verify === 'none') return setVerification('skipped', 'skipped: verification is off (verify=none)');
  if (r.layersRun === 0) return setVerification('skipped', 'skipped: stopped before the first layer');
  const refused = refusal({ ...cfg, layers: r.layersRun });
  if (refused) return setVerification('refused', refused);
  data.state = 'verifying';
  setVerification('pending', `verifying ${r.layersRun} layer(s) against the float64 CPU reference in a worker…`);
  const reply = await verifier.run({ cfg, seed: state.seed, inputs, states });
  if (id !== runId) return;
  if (!reply.ok) return setVerification('failed', `failed: the verification could not run: ${reply.error}`);
  const v = reply.verification;
  setVerification(
    v.passed ? 'passed' : 'failed',
    `${v.passed ? 'passed' : 'failed'}: worst ${v.worstRatio!.toPrecision(3)}× the tolerance, max abs error ${v.maxAbsError!.toExponential(2)}; ` +
      `tolerance ${v.tolerance}; ${v.detail}; ${(reply.ms / 1000).toFixed(2)} s on the CPU`,
  );
}

function init(): void {
  const form = $<HTMLFormElement>('config');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  const onEdit = (e: Event) => {
    const target = e.target as HTMLInputElement | HTMLSelectElement;
    if (!target.name) return;
    state = applyEdit(state, target);
    showState(state);
    refreshTokens().catch(fail);
  };
  form.addEventListener('change', onEdit);
  // Typing in the text boxes retokenizes as it goes; numbers wait for 'change'.
  form.addEventListener('input', (e) => {
    if ((e.target as HTMLInputElement).type === 'text') onEdit(e);
  });
  $('stop').addEventListener('click', () => {
    controller?.abort();
    $('progress-text').textContent += ' (stopping after this layer…)';
  });
  setLostHandler((message) => {
    fail(new PageError(message, 'lost'));
    $('adapter').textContent = 'adapter: lost; a new one is requested on the next run';
  });
  showState(state);
  refreshTokens()
    .catch(fail)
    .finally(() => {
      if (state.autorun) void run();
    });
}

window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));
try {
  init();
} catch (e) {
  fail(e);
}
