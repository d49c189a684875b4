// The page: configuration form (mirrored in the URL), weights (seeded, the chapter's example, or
// a file), a GPU run with progress, timings, the pattern views, a benchmark mode, and
// verification against the float64 CPU reference in a worker.
// window.webgpuAttention (also __webgpuAttention, for the tests) holds the page's data; its
// lastRun the last finished run.

import type { AttentionConfig, Engine } from '../src/index.js';
import { renderBench, summarize, type BenchResult } from './bench.js';
import { CHAPTER_HEADS } from './chapter.js';
import { clearError, describeError, PageError, showError } from './errors.js';
import { checkAffordable, estimate, type ModelEstimate, type Suggestion } from './estimate.js';
import { renderChapterPanel } from './explain.js';
import { applyEdit, showState, showTokens } from './form.js';
import { colorFor, HATCH_RGB, MASKED_RGB } from './heatmap.js';
import { lastRunOf, type LastRun } from './lastrun.js';
import { DEFAULT_TEXT, parseState, type PageState } from './params.js';
import { renderTimings } from './report.js';
import { adapterReady } from './precision.js';
import { getEngine, prepare, runOnGpu, type PreparedRun, setLostHandler, weightsNote } from './run.js';
import { clearResults, compileTicker, markStale, setProgress, setVerification } from './status.js';
import { label, tokenize } from './tokens.js';
import { Verifier, verifyRun } from './verify.js';
import { renderPatterns, type Drawn } from './views.js';
import { wireWeightsInput, type LoadedWeights } from './weights-file.js';
import { droppedCheckpoint } from './checkpoint-drop.js';
import { renderNextTokens, wireCheckpointInputs, type LoadedCheckpoint } from './checkpoint-view.js';
import { nextTokens, type NextToken } from '../src/model/next-tokens.js';
import { formatBytes, knownRates, measuredRates, noteRun, type Rates } from '../src/index.js';
import { checkGenerateFields, runGenerate, type GenerateRecord } from './generate.js';
import { checkpointParameters } from '../src/io/checkpoint-config.js';

/** A checkpoint's tables and parameter count for the estimate (config.json alone). */
function modelEstimate(c: LoadedCheckpoint): ModelEstimate {
  const k = c.checkpoint;
  return {
    plan: { vocab: k.config.vocab, positionRows: k.config.positionRows, tiedUnembedding: k.layout.unembedding === null },
    parameters: checkpointParameters(k.config, k.layout.unembedding !== null).total,
  };
}

export interface PageData {
  state: 'idle' | 'running' | 'verifying' | 'done' | 'error';
  config: AttentionConfig | null;
  heatmap: Drawn | null;
  error: string | null;
  lastRun: LastRun | null;
  /** The rates this adapter was measured at (src/model/rates.ts): what the estimate and the refusal use. */
  rates: Rates | null;
  /** The estimate shown before Run: its configuration and seconds (null before the rates are measured). */
  estimate: { config: AttentionConfig; seconds: number | null } | null;
  /** The checkpoint opened in the page: its folder's name, config.json's shape, and how long opening took. */
  checkpoint: { label: string; config: LoadedCheckpoint['checkpoint']['config']; openMs: number; bytes: number } | null;
  /** The last finished Generate: prompt, generated ids and text, every step's time and verdict, the pattern rows. */
  lastGenerate: GenerateRecord | null;
  colorFor: typeof colorFor;
  maskedRgb: readonly number[];
  hatchRgb: readonly number[];
}

declare global {
  interface Window {
    webgpuAttention: PageData;
    __webgpuAttention: PageData;
  }
}

const data: PageData = { state: 'idle', config: null, heatmap: null, error: null, lastRun: null, rates: null, estimate: null, checkpoint: null, lastGenerate: null, colorFor, maskedRgb: MASKED_RGB, hatchRgb: HATCH_RGB };
window.webgpuAttention = window.__webgpuAttention = data;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
let state: PageState = parseState(location.search);
let file: LoadedWeights | null = null;
let checkpoint: LoadedCheckpoint | null = null;
let engine: Engine | null = null;
const verifier = new Verifier();
let controller: AbortController | null = null;
let runId = 0;

function fail(e: unknown): void {
  data.state = 'error';
  data.error = describeError(e).text;
  showError(e);
}

function setState(next: PageState): void {
  state = next;
  showState(state, file, {}, checkpoint?.checkpoint.config ?? null);
  refreshTokens().catch(fail);
}

const useF32 = () => {
  clearError();
  setState({ ...state, overrides: { ...state.overrides, precision: undefined } });
};
/** A refusal's offer: exactly the configuration it priced, so seeded weights and input (a file's or checkpoint's shape would override it). */
const useSuggestion = (s: Suggestion) =>
  setState({ ...state, preset: s.preset, overrides: { ...s.overrides }, input: 'seeded', weights: 'seeded' });

/** Token chips, the sequence lengths they imply and the estimate, refreshed as the text is typed. */
async function refreshTokens(): Promise<void> {
  const textInput = state.input === 'text' || state.weights === 'chapter';
  let [t, c] = textInput ? await Promise.all([tokenize(state.text), state.overrides.cross ? tokenize(state.contextText) : null]) : [null, null];
  if (state.weights === 'checkpoint') {
    // The checkpoint's own tokenizer; its refusals (too many tokens, none) are shown by the estimate line.
    const tokenizer = checkpoint?.tokenizer;
    t = null;
    if (tokenizer) {
      const ids = tokenizer.encode(state.text);
      t = { ids, strings: ids.map((id) => tokenizer.decode([id])) };
    }
    c = null;
  }
  showTokens(t);
  showState(state, file, { seq: t?.ids.length, kvSeq: c?.ids.length }, checkpoint?.checkpoint.config ?? null);
  try {
    const p = await prepare(state, file, checkpoint);
    const cfg = p.cfg;
    const show = (c: AttentionConfig, r: Rates | null) => {
      const e = estimate(c, engine, r, p.model ? modelEstimate(p.model.loaded) : null);
      $('estimate').textContent = e.text +
        (p.model ? ` The run reads the checkpoint's ${formatBytes(p.model.loaded.checkpoint.bytes)} from its files, layer by layer.` : '');
      data.estimate = { config: c, seconds: e.seconds };
    };
    const now = engine ? knownRates(engine) : null;
    show(cfg, now);
    if (engine && !now) {
      // The first estimate on an adapter waits for its probe (src/model/rates.ts), then shows the measured time.
      data.rates = await measuredRates(engine);
      show((await prepare(state, file, checkpoint)).cfg, data.rates);
    } else data.rates = now;
  } catch (e) {
    $('estimate').textContent = `Estimate: not available (${describeError(e).text})`;
  }
}

let current: Promise<void> = Promise.resolve();

/** Starts a run; one already going is stopped first (after its layer) so two never share the device's error scopes. */
function run(kind: 'run' | 'generate' = 'run'): Promise<void> {
  const id = ++runId;
  controller?.abort();
  verifier.cancel();
  // Created now, not when the run starts: Stop pressed while the previous run winds down stops this one.
  const own = new AbortController();
  controller = own;
  current = current.then(() => (id === runId ? (kind === 'run' ? runOnce(id, own.signal) : generateOnce(id, own.signal)) : undefined)).catch(fail);
  return current;
}

/** Checks every value (once) and reads the tables of a checkpoint run, before any GPU work. */
async function readCheckpointTables(p: PreparedRun): Promise<{ scanMs: number; tablesMs: number }> {
  if (!p.model) return { scanMs: 0, tablesMs: 0 };
  // Every value checked finite before any GPU work (once per checkpoint), as the CLI does.
  setProgress('checking every value of the checkpoint for NaN and ±Inf…', null);
  const t0 = performance.now();
  await p.model.loaded.checkpoint.scanFinite();
  const scanMs = performance.now() - t0;
  // The embeddings, positions, final LayerNorm and unembedding: read once per checkpoint, then kept.
  setProgress("reading the checkpoint's embeddings and final LayerNorm from its files…", null);
  const t1 = performance.now();
  await p.model.loaded.checkpoint.modelTensors();
  return { scanMs, tablesMs: performance.now() - t1 };
}

/** Generate: the prompt's prefill, then the form's number of tokens one at a time, drawn as they come. */
async function generateOnce(id: number, signal: AbortSignal): Promise<void> {
  clearError();
  markStale();
  Object.assign(data, { state: 'running', error: null });
  setVerification('pending', 'generating on the GPU…');
  $<HTMLButtonElement>('stop').disabled = false;
  try {
    const p = await prepare(state, file, checkpoint);
    checkGenerateFields(state);
    data.config = p.cfg;
    setProgress('requesting the GPU adapter…', 0, state.steps);
    engine = await getEngine();
    const refused = adapterReady(engine, p.cfg.precision, useF32);
    if (refused) throw refused;
    // The prefill priced as a Run is (the steps after it are not priced: each is one token's work).
    checkAffordable(engine, p.cfg, await measuredRates(engine), state.force, useSuggestion);
    await readCheckpointTables(p);
    const tokenizer = p.model?.loaded.tokenizer ?? null;
    const record = await runGenerate(engine, p, state, { signal, onProgress: setProgress }, tokenizer ? (ids) => tokenizer.decode(ids) : null);
    if (id !== runId) return;
    setProgress(record.stopped ? `stopped after ${record.steps.length}/${state.steps} steps` : `done: prefill and ${record.steps.length} steps`, record.steps.length, state.steps);
    const v = record.verification;
    setVerification(v.passed === null ? 'skipped' : v.passed ? 'passed' : 'failed', v.passed === null ? 'not verified: “verification” is set to none' : `${v.passed ? 'passed' : 'failed'}: generation, ${v.text}`);
    data.lastGenerate = record;
    data.state = 'done';
  } catch (e) {
    if (id !== runId) return;
    fail(e);
    clearResults();
    setVerification('skipped', 'not verified: generation failed (see the error above)');
    setProgress('failed', 0);
  } finally {
    if (id === runId) $<HTMLButtonElement>('stop').disabled = true;
  }
}

async function runOnce(id: number, signal: AbortSignal): Promise<void> {
  clearError();
  markStale();
  Object.assign(data, { state: 'running', error: null, heatmap: null });
  setVerification('pending', 'running on the GPU…');
  $<HTMLButtonElement>('stop').disabled = false;
  let stopTicker: (() => number) | null = null;
  try {
    const p = await prepare(state, file, checkpoint);
    data.config = p.cfg;
    setProgress('requesting the GPU adapter…', 0, p.cfg.layers);
    engine = await getEngine();
    const refused = adapterReady(engine, p.cfg.precision, useF32);
    if (refused) throw refused;
    const { scanMs, tablesMs } = await readCheckpointTables(p);
    const bench = state.bench;
    stopTicker = compileTicker(bench ? 'warm-up run: ' : '');
    const hooks = {
      signal, suggest: useSuggestion,
      onLayer: (l: { layer: number; layers: number; layerMs: number; elapsedMs: number }) => {
        stopTicker?.();
        stopTicker = null;
        setProgress(`${bench ? 'warm-up run: ' : ''}layer ${l.layer + 1}/${l.layers} (${l.layerMs.toFixed(2)} ms, ${(l.elapsedMs / 1000).toFixed(1)} s elapsed)`, l.layer + 1);
      },
    };
    const gpu = await runOnGpu(engine, p, state, hooks);
    stopTicker?.();
    data.rates = await measuredRates(engine);
    await noteRun(engine, gpu.result); // later estimates use what this run measured
    if (id !== runId) return; // a newer run replaced this one
    const r = gpu.result;
    setProgress(r.stopped ? `stopped after layer ${r.layersRun}/${p.cfg.layers}` : `done: ${r.layersRun}/${p.cfg.layers} layers`);
    renderTimings(r, gpu.prepareMs);
    renderChapterPanel(r);
    const queryLabels = (p.tokens?.strings ?? Array.from({ length: p.cfg.seq }, (_, i) => `row ${i + 1}`)).map(label);
    const keyLabels = p.contextTokens ? p.contextTokens.strings.map(label) : p.cfg.cross ? Array.from({ length: p.cfg.kvSeq }, (_, i) => `ctx ${i + 1}`) : queryLabels;
    const patterns = r.patterns?.slice(0, r.layersRun) ?? null;
    $('weights-note').textContent = weightsNote(state, p);
    renderPatterns(
      patterns && { patterns, scores: gpu.scores, cfg: p.cfg, queryLabels, keyLabels, headNames: state.weights === 'chapter' ? CHAPTER_HEADS : null },
      gpu.captureNote, { orient: state.orient, scale: state.scale },
      (prefs) => setState({ ...state, ...prefs }), (d) => (data.heatmap = d),
    );
    delete $('patterns').dataset.stale;
    let next: NextToken[] | null = null;
    // A run without a checkpoint has no next token: an earlier checkpoint run's list goes.
    if (!p.model) $('next-tokens').hidden = true;
    if (p.model) {
      // Only from a stack that ran to its end: a partial stack's logits are not the model's.
      next = r.logits && !r.stopped ? nextTokens(r.logits, 10, p.model.loaded.tokenizer) : null;
      renderNextTokens(next, next
        ? `After the last of ${p.cfg.seq} tokens: softmax of the logits (final LayerNorm, then the ${p.model.loaded.checkpoint.layout.unembedding ? 'unembedding lm_head' : 'tied unembedding'}) in float64.`
        : 'None: the stack did not run to its end.');
    }
    let benchmark: BenchResult | null = null;
    if (bench > 0 && !r.stopped) {
      const runs = [];
      for (let k = 0; k < bench && !signal.aborted; k++) {
        setProgress(`timed run ${k + 1}/${bench}`, k, bench);
        runs.push((await runOnGpu(engine, p, state, { ...hooks, onLayer: () => undefined, lean: { attention: r.plan.attention } })).result);
        if (id !== runId) return;
      }
      if (runs.length) {
        benchmark = summarize(r, gpu.prepareMs, runs);
        renderBench(benchmark, { adapter: r.adapter, config: p.cfg, weights: p.weightsLabel, ...benchmark });
        setProgress(`done: warm-up and ${runs.length} timed runs`, bench, bench);
      }
    }
    data.state = 'verifying';
    const verdict = await verifyRun(verifier, state.verify,
      {
        cfg: p.cfg, seed: state.seed, inputs: p.inputs, weights: p.weights, states: gpu.states,
        model: p.model && r.embedded ? {
          files: p.model.loaded.checkpoint.source.files, label: p.model.loaded.checkpoint.source.label, tokens: p.model.tokens,
          embedded: r.embedded, logits: r.stopped ? null : r.logits, output: r.output,
        } : undefined,
      }, r.layersRun,
      (text) => setVerification('pending', text));
    if (id !== runId || !verdict) return;
    setVerification(verdict.kind, verdict.text);
    data.lastRun = lastRunOf({
      config: p.cfg, weights: p.weightsLabel, adapter: r.adapter, layersRun: r.layersRun,
      tokens: p.tokens && { ids: p.tokens.ids, strings: p.tokens.strings, contextIds: p.contextTokens?.ids ?? null, contextStrings: p.contextTokens?.strings ?? null },
      timings: { ...r.timings, prepareMs: gpu.prepareMs }, tflops: r.tflops,
      verification: { ...(verdict.verification ?? {}), passed: verdict.kind === 'passed' ? true : verdict.kind === 'failed' ? false : null, text: verdict.text },
      benchmark,
      nextTokens: next,
      checkpoint: p.model ? {
        label: p.model.loaded.checkpoint.source.label, family: p.model.loaded.checkpoint.config.family, dtypes: p.model.loaded.checkpoint.dtypes(),
        bytes: p.model.loaded.checkpoint.bytes, openMs: p.model.loaded.openMs, scanMs, tablesMs,
      } : null,
    }, patterns, gpu.scores);
    data.state = 'done';
  } catch (e) {
    stopTicker?.();
    if (id !== runId) return;
    fail(e);
    clearResults();
    setVerification('skipped', 'not verified: the run failed (see the error above)');
    setProgress('failed', 0);
  } finally {
    if (id === runId) $<HTMLButtonElement>('stop').disabled = true;
  }
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
    setState(applyEdit(state, target));
  };
  form.addEventListener('change', onEdit);
  // Typing in the text boxes retokenizes as it goes; numbers wait for 'change'.
  form.addEventListener('input', (e) => {
    if ((e.target as HTMLInputElement).type === 'text') onEdit(e);
  });
  $('show-example').addEventListener('click', () => {
    setState({ ...state, weights: 'chapter', input: 'text', text: state.text.trim() ? state.text : DEFAULT_TEXT, attention: 'auto', bench: 0 });
    void run();
  });
  const takeCheckpoint = wireCheckpointInputs($<HTMLInputElement>('checkpoint-folder'), $<HTMLInputElement>('checkpoint-files'), $('checkpoint-info'), (loaded) => {
    checkpoint = loaded;
    clearError();
    data.checkpoint = loaded && { label: loaded.checkpoint.source.label, config: loaded.checkpoint.config, openMs: loaded.openMs, bytes: loaded.checkpoint.bytes };
    if (loaded) setState({ ...state, weights: 'checkpoint', input: 'text' });
    else if (state.weights === 'checkpoint') setState({ ...state, weights: 'seeded' });
  }, (e) => {
    fail(e);
    clearResults();
  });
  wireWeightsInput($<HTMLInputElement>('weights-file'), $('weights-drop'), (w) => {
    file = w;
    clearError();
    $('weights-file-info').textContent = `${w.name}: ${w.layers} layer(s), d_model ${w.dModel}, inner width ${w.inner}${w.heads ? ` (${w.heads} heads, from its metadata)` : ''}` +
      `${w.bias ? ', biases' : ''}${w.layerNorm ? ', LayerNorm' : ''}. ${w.notes.join(' ')}`;
    setState({ ...state, weights: 'file', preset: 'small', overrides: { ...state.overrides, layers: undefined, dModel: undefined, dHead: undefined } });
  }, (e) => {
    file = null;
    $('weights-file-info').textContent = '';
    if (state.weights === 'file') setState({ ...state, weights: 'seeded' });
    fail(e);
    clearResults();
  }, (dt) => {
    const dropped = droppedCheckpoint(dt);
    if (dropped) void takeCheckpoint(dropped);
    return dropped !== null;
  });
  $('generate').addEventListener('click', () => void run('generate'));
  $('stop').addEventListener('click', () => {
    controller?.abort();
    $('progress-text').textContent += ' (stopping after this layer…)';
  });
  setLostHandler((message) => {
    fail(new PageError(message, 'lost'));
    $('adapter').textContent = 'adapter: lost; a new one is requested on the next run';
  });
  setState(state);
  // Ask for the adapter at once: Chromium defines navigator.gpu even without an adapter, and a
  // visitor should learn that before pressing Run.
  $('adapter').textContent = 'adapter: requesting…';
  const ready = getEngine().then(
    (e) => {
      engine = e;
      const refused = adapterReady(e, state.overrides.precision, useF32);
      if (refused && !state.autorun) fail(refused); // autorun's run refuses with the same message
      return refreshTokens();
    },
    (e) => {
      $('adapter').textContent = 'adapter: none (see the message above)';
      if (!state.autorun) fail(e);
    },
  );
  void ready.finally(() => {
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
