// `webgpu-attention run`: one attention stack on the best adapter, with progress, timings and
// verification against the float64 CPU reference (exact, or sampled at GPT-3 scale).

import { configFromFlags, intFlag, parseFlags, RUN_FLAGS, type Flags } from './args.js';
import { printRunSummary, runReport } from './report.js';
import { progressReporter } from './progress.js';
import { ConfigError, resolveConfig, type AttentionConfig } from '../model/config.js';
import { Engine, type LayerProbe, type LayerProgress, type RunResult } from '../model/engine.js';
import { layerFlops } from '../model/flops.js';
import { seededInputs } from '../model/seeded.js';
import type { Inputs, WeightSource } from '../model/weights.js';
import { createNodeGpu } from '../node/dawn.js';
import { defaultTuneStore } from '../node/tune-store.js';
import type { AttentionTuneResult } from '../model/attention-tune.js';
import type { TuneResult } from '../kernels/autotune.js';
import { describeTile } from '../kernels/matmul.js';
import { inputFileNotes, inputsFromFile, SafetensorsFile, weightFileNotes, weightFileShape, weightsFromFile, writeOutputFile } from '../node/safetensors-file.js';
import { checkInputPath, checkOutputPath } from '../node/paths.js';
import { fileLabel } from '../io/safetensors.js';
import { verifyExactLayers, type Verification } from '../verify/exact.js';
import { SIGNAL_EXIT, watchInterrupts, type StopSignal } from './interrupts.js';
import { PACKAGE_VERSION } from '../version.js';
import { summarizeSampled, verifyLayerSampled, type LayerVerification } from '../verify/sampled.js';
import { InputError } from '../gpu/errors.js';

export const RUN_USAGE = `webgpu-attention run [flags]
  --preset gpt3                    start from GPT-3's shape (d_model 12288, 96 heads × 128, 96 layers, seq 2048)
  --layers N --heads N --d-model N --d-head N --seq N   override each dimension
  --context N                      longest sequence the model allows (default 2048)
  --cross [--context-seq N]        cross-attention: keys and values from a second sequence (never masked)
  --no-mask                        self-attention without the causal mask
  --norm layernorm|none            GPT-3's pre-LayerNorm x + Attn(LN(x)) (the gpt3 preset's), or the bare
                                   block x + Attn(x) (the default otherwise; a weights file with
                                   input_layernorm tensors selects layernorm)
  --bias                           add the projections' biases
  --seed N                         seed of generated weights and inputs (default 1)
  --weights FILE.safetensors       layers.{l}.self_attn.{q,k,v,o}_proj.weight (+ .bias), F32, [out, in]
  --input FILE.safetensors         x [seq, d_model] (+ context [context_seq, d_model] with --cross)
  --output FILE.safetensors        write y [seq, d_model] atomically, with __metadata__ saying how it was
                                   made; only when verification passed (or --verify none) and y is finite
  --keep-failed-output             write --output even when verification failed or y is not finite
  --keep-partial-output            write --output even when interrupted (SIGINT/SIGTERM) mid-stack
  --verify exact|sampled|none      float64 CPU check: every element of every layer from the GPU's own
                                   input to it, or Freivalds + sampled heads per layer, or none
                                   (reported as not verified)
  --verify-layers N                sampled mode: how many layers to check (default: all, at most 8 spread out)
  --json                           one JSON object on stdout
  --force                          run a configuration a software adapter would take very long for
  --attention auto|fused|materialized   the attention core: three passes over a pattern buffer, or one
                                   fused pass without it (d_head <= 128); auto: fused where one head's
                                   pattern would not fit a binding, else the core timed faster here
                                   (see --tune), else fused on a software adapter, materialized on a GPU
  --tune | --no-tune | --retune    matmul tile config: by default timed once per hardware adapter (about a
                                   second) and kept in ~/.cache/webgpu-attention/ (WEBGPU_ATTENTION_TUNE_DIR),
                                   and likewise which attention core is faster for this d_head (auto);
                                   --tune also on a software adapter, --no-tune uses the measured
                                   defaults, --retune times again`;

/** CPU float64 work we accept for `--verify exact` before suggesting `sampled`. */
const EXACT_FLOP_LIMIT = 2e10;
/** Software adapters reach a few GFLOP/s (lavapipe ≈ 4 on a 512³ matmul, bench/RESULTS.md). */
const SOFTWARE_FLOPS_PER_S = 4e9;
const SOFTWARE_REFUSE_S = 600;

export async function runCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, RUN_FLAGS);
  if (flags.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const json = flags.json === true;
  const seed = intFlag(flags, 'seed', { min: 0 }) ?? 1;
  // Every path is checked before any file is opened or any GPU work starts.
  const outputPath = flags.output !== undefined ? checkOutputPath('--output', String(flags.output)) : null;
  const files = openFiles(flags);
  try {
    const cfg = configWithFiles(flags, files);
    const mode = verifyMode(flags, cfg);
    const weights: WeightSource = files.weights ? weightsFromFile(files.weights, cfg) : { kind: 'seeded', seed };
    const inputs: Inputs = files.input ? inputsFromFile(files.input, cfg) : seededInputs(seed, cfg);
    const notes = [...(files.weights ? weightFileNotes(files.weights, cfg) : []), ...(files.input ? inputFileNotes(files.input, cfg) : [])];
    const attention = attentionFlag(flags);

    const engine = await Engine.create(createNodeGpu());
    try {
      engine.plan(cfg, { inputs, attention }); // every size check, before any GPU work
      refuseSlowSoftwareRun(engine, cfg, flags.force === true);
      if (!json) {
        console.error(`adapter: ${engine.adapter.name}${engine.adapter.isSoftware ? ' (software adapter)' : ''}`);
        for (const note of notes) console.error(`note: ${note}`);
      }
      const tuning = await tune(engine, flags, cfg.dHead, attention, json);

      let step = 'starting';
      const interrupts = watchInterrupts(() => step);
      const layerChecks: LayerVerification[] = [];
      const checkLayers = mode === 'sampled' ? layersToCheck(cfg.layers, intFlag(flags, 'verify-layers')) : new Set<number>();
      // Exact mode is layer-local: it needs the GPU's residual stream after every layer.
      const states: Float32Array[] = mode === 'exact' ? [inputs.x] : [];
      const progress = progressReporter();
      const onLayer = async (p: LayerProgress, probe: LayerProbe) => {
        step = `layer ${p.layer + 1} of ${p.layers} ran`;
        let note = '';
        if (mode === 'exact') states.push(await probe.readOutput());
        if (checkLayers.has(p.layer)) {
          const check = await verifyLayerSampled(cfg, p.layer, probe, weights, inputs.context, { seed: seed + 7919 * (p.layer + 1) });
          layerChecks.push(check);
          note = `check ${check.passed ? 'passed' : 'FAILED'} (${check.ms.toFixed(0)} ms)`;
        }
        progress(p, note); // stderr: beside --json's stdout, never in it
      };
      let result: RunResult;
      let verification: Verification;
      try {
        result = await engine.run(cfg, { seed, weights, inputs, attention, keepLayerInput: mode === 'sampled', onLayer, signal: interrupts.signal });
        step = `verifying ${result.layersRun} layer(s), ${mode}`;
        if (mode === 'exact') console.error(`${step}: float64 on the CPU…`);
        if (mode === 'exact') {
          // Stopped mid-stack: the layers that ran are still checked (a further signal stops that).
          // A signal that came after the last layer asks to stop before the verification.
          const signal = interrupts.received && !result.stopped ? AbortSignal.abort() : interrupts.next();
          verification = await verifyExactLayers(cfg, weights, inputs, states, { signal });
        } else if (mode === 'sampled') {
          verification = summarizeSampled(layerChecks);
        } else verification = notVerified();
      } finally {
        interrupts.dispose();
      }
      const outcome = runOutcome(result, verification, interrupts.received);
      const written = writeOutput(outputPath, flags, result, verification, outcome, engine);
      const report = { ...runReport(result, verification, layerChecks, tuning), status: outcome.status, exitCode: outcome.exitCode, message: outcome.message, notes, output: written };
      if (json) await printJson(report);
      else printRunSummary(report);
      return outcome.exitCode;
    } finally {
      engine.destroy();
    }
  } finally {
    files.weights?.close();
    files.input?.close();
  }
}

function notVerified(): Verification {
  return { mode: 'none', passed: null, maxAbsError: null, maxRelError: null, worstRatio: null, tolerance: 'none', failedLayers: [], detail: 'not verified (--verify none)' };
}

/** What the run amounts to, in order of precedence: interrupted, non-finite, failed, not verified, passed. */
export function runOutcome(result: RunResult, v: Verification, signal: StopSignal | null): { status: RunStatus; exitCode: number; message: string } {
  const planned = result.config.layers;
  if (signal) {
    return { status: 'interrupted', exitCode: SIGNAL_EXIT[signal], message: `interrupted (${signal}) after layer ${result.layersRun} of ${planned}${v.mode !== 'none' ? `; verification: ${v.passed === null ? 'incomplete' : v.passed ? 'passed for the layers that ran' : 'FAILED'}` : ''}` };
  }
  if (result.firstNonFiniteLayer !== null) {
    return { status: 'non-finite', exitCode: 3, message: `the output is not finite: the residual stream first held NaN or Inf after layer ${result.firstNonFiniteLayer} (0-based)` };
  }
  if (v.passed === false) return { status: 'failed', exitCode: 1, message: `verification FAILED (${v.mode}) in layer(s) ${v.failedLayers.join(', ') || '-'}` };
  if (v.passed === null) return { status: 'not-verified', exitCode: 0, message: 'not verified (--verify none); the output is finite' };
  return { status: 'passed', exitCode: 0, message: `verification passed (${v.mode})` };
}

export type RunStatus = 'passed' | 'failed' | 'not-verified' | 'non-finite' | 'interrupted';

/**
 * The output file, only for a result that can be trusted: passed, or not verified but finite.
 * A failed or non-finite result is written only with --keep-failed-output, an interrupted one
 * only with --keep-partial-output, and then its __metadata__ says so.
 */
function writeOutput(path: string | null, flags: Flags, result: RunResult, v: Verification, outcome: ReturnType<typeof runOutcome>, engine: Engine):
  { path: string | null; written: boolean; reason: string } {
  if (!path) return { path: null, written: false, reason: 'no --output' };
  const keep = outcome.status === 'interrupted' ? flags['keep-partial-output'] === true
    : outcome.status === 'failed' || outcome.status === 'non-finite' ? flags['keep-failed-output'] === true : true;
  if (!keep) {
    const flag = outcome.status === 'interrupted' ? '--keep-partial-output' : '--keep-failed-output';
    const reason = `not written: the run is ${outcome.status} (${flag} writes it anyway, marked as such)`;
    console.error(`--output ${reason}`);
    return { path, written: false, reason };
  }
  writeOutputFile(path, result.output, result.config, {
    'webgpu-attention.version': PACKAGE_VERSION,
    'webgpu-attention.config': JSON.stringify(result.config),
    'webgpu-attention.adapter': result.adapter.name,
    'webgpu-attention.precision': 'f32',
    'webgpu-attention.attention': result.plan.attention,
    'webgpu-attention.verify': v.mode,
    'webgpu-attention.verdict': v.passed === null ? 'not verified' : v.passed ? 'passed' : 'failed',
    'webgpu-attention.status': outcome.status,
    'webgpu-attention.layers-run': `${result.layersRun} of ${result.config.layers}`,
    'webgpu-attention.partial': String(result.layersRun < result.config.layers),
    'webgpu-attention.finite': String(result.firstNonFiniteLayer === null),
    'webgpu-attention.engine-adapter-software': String(engine.adapter.isSoftware),
  });
  return { path, written: true, reason: outcome.status };
}

/** Prints the JSON report and resolves once it is flushed: a piped stdout is written asynchronously. */
function printJson(report: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(JSON.stringify(report, null, 2) + '\n', (e) => (e ? reject(e) : resolve())));
}

function attentionFlag(flags: Flags): 'auto' | 'fused' | 'materialized' {
  const value = (flags.attention as string | undefined) ?? 'auto';
  if (value !== 'auto' && value !== 'fused' && value !== 'materialized') throw new ConfigError(`--attention must be auto, fused or materialized, got '${value}'`);
  return value;
}

/** The matmul tile config and, for this head width, the attention core: stored, timed, or default. */
async function tune(engine: Engine, flags: Flags, dHead: number, attentionFlag: 'auto' | 'fused' | 'materialized', quiet: boolean):
  Promise<{ matmul: TuneResult; attention: AttentionTuneResult }> {
  if (flags['no-tune'] && (flags.tune || flags.retune)) throw new ConfigError('--no-tune contradicts --tune and --retune');
  const when = flags['no-tune'] ? false : flags.tune || flags.retune ? true : 'auto';
  const retune = flags.retune === true;
  const matmul = await engine.tuneMatmul({ tune: when, retune, store: defaultTuneStore('matmul') });
  if (!quiet && matmul.source === 'tuned') {
    console.error(`matmul tuned in ${((matmul.tuneMs ?? 0) / 1000).toFixed(1)} s: ${describeTile(matmul.tile)}`);
  }
  // Only the engine's own choice (--attention auto) needs the timing.
  const attention = attentionFlag === 'auto'
    ? await engine.tuneAttention(dHead, { tune: when, retune, store: defaultTuneStore('attention') })
    : { mode: null, source: 'default' as const };
  if (!quiet && attention.source === 'tuned') {
    console.error(`attention core timed: ${attention.mode} (materialized ${attention.materializedMs!.toFixed(2)} ms, fused ${attention.fusedMs!.toFixed(2)} ms per layer)`);
  }
  return { matmul, attention };
}

function openFiles(flags: Flags): { weights: SafetensorsFile | null; input: SafetensorsFile | null } {
  // `--weights ""` (an unset shell variable) is an error, never a silent fall-back to seeded weights.
  const open = (flag: 'weights' | 'input') => (flags[flag] === undefined ? null : new SafetensorsFile(checkInputPath(`--${flag}`, String(flags[flag])).path, `--${flag}`));
  const weights = open('weights');
  try {
    return { weights, input: open('input') };
  } catch (e) {
    weights?.close();
    throw e;
  }
}

/** Flags first; dimensions the flags leave open come from the files' shapes, which must agree. */
function configWithFiles(flags: Flags, files: { weights: SafetensorsFile | null; input: SafetensorsFile | null }): AttentionConfig {
  const { base, overrides } = configFromFlags(flags);
  const agree = (flag: string, given: number | undefined, found: number, where: string): number => {
    if (given !== undefined && given !== found) throw new ConfigError(`${flag} ${given} disagrees with ${where}, which gives ${found}`);
    return found;
  };
  if (files.weights) {
    const w = weightFileShape(files.weights);
    const where = `${fileLabel(files.weights.path)} (${'layers.0.self_attn.q_proj.weight'} [${w.inner}, ${w.dModel}])`;
    overrides.dModel = agree('--d-model', overrides.dModel, w.dModel, where);
    if (overrides.layers === undefined) overrides.layers = w.layers;
    else if (overrides.layers > w.layers) throw new ConfigError(`--layers ${overrides.layers} exceeds the ${w.layers} layers in ${fileLabel(files.weights.path)}`);
    if (overrides.heads === undefined && overrides.dHead === undefined) {
      throw new ConfigError(`--heads or --d-head is needed: ${fileLabel(files.weights.path)} gives heads·d_head = ${w.inner} only`);
    }
    if (overrides.heads === undefined) overrides.heads = w.inner / overrides.dHead!;
    if (overrides.dHead === undefined) overrides.dHead = w.inner / overrides.heads;
    if (!Number.isInteger(overrides.heads) || !Number.isInteger(overrides.dHead) || overrides.heads * overrides.dHead !== w.inner) {
      throw new ConfigError(`--heads × --d-head must equal ${w.inner} (the rows of W_Q in ${fileLabel(files.weights.path)})`);
    }
    if (w.bias) overrides.bias = true;
    if (overrides.bias && !w.bias) throw new ConfigError(`--bias: ${fileLabel(files.weights.path)} has no biases`);
    if (overrides.norm === undefined && w.layerNorm) overrides.norm = 'layernorm';
    if (overrides.norm === 'layernorm' && !w.layerNorm) {
      throw new ConfigError(`--norm layernorm: ${fileLabel(files.weights.path)} has no layers.{l}.input_layernorm.weight and .bias`);
    }
  }
  if (files.input) {
    const x = files.input.shape('x');
    if (!x || x.length !== 2) throw new InputError(`${fileLabel(files.input.path)}: no 2-D tensor 'x' [seq, d_model]`);
    overrides.seq = agree('--seq', overrides.seq, x[0]!, `${fileLabel(files.input.path)} (x [${x.join(', ')}])`);
    overrides.dModel = agree('--d-model', overrides.dModel, x[1]!, `${fileLabel(files.input.path)} (x [${x.join(', ')}])`);
    if (overrides.cross) {
      const c = files.input.shape('context');
      if (!c && flags['context-seq'] === undefined) throw new InputError(`${fileLabel(files.input.path)}: --cross needs a tensor 'context' [context_seq, d_model]`);
      if (c) overrides.contextSeq = agree('--context-seq', overrides.contextSeq, c[0]!, `${fileLabel(files.input.path)} (context [${c.join(', ')}])`);
    }
  }
  return resolveConfig(overrides, base);
}

function verifyMode(flags: Flags, cfg: AttentionConfig): 'exact' | 'sampled' | 'none' {
  const cpuFlops = layerFlops(cfg).total * cfg.layers;
  const mode = (flags.verify as string | undefined) ?? (cpuFlops <= EXACT_FLOP_LIMIT ? 'exact' : 'sampled');
  if (mode !== 'exact' && mode !== 'sampled' && mode !== 'none') {
    throw new ConfigError(`--verify must be exact, sampled or none, got '${mode}'`);
  }
  if (mode === 'exact' && cpuFlops > EXACT_FLOP_LIMIT) {
    throw new ConfigError(
      `--verify exact would recompute ${(cpuFlops / 1e9).toFixed(0)} GFLOP in float64 on the CPU (limit ${EXACT_FLOP_LIMIT / 1e9}); use --verify sampled`,
    );
  }
  return mode;
}

function refuseSlowSoftwareRun(engine: Engine, cfg: AttentionConfig, force: boolean): void {
  if (!engine.adapter.isSoftware || force) return;
  const seconds = (layerFlops(cfg).total * cfg.layers) / SOFTWARE_FLOPS_PER_S;
  if (seconds > SOFTWARE_REFUSE_S) {
    const hours = seconds / 3600;
    throw new ConfigError(
      `${engine.adapter.name} is a software adapter: this configuration would take about ${hours >= 1 ? hours.toFixed(1) + ' h' : (seconds / 60).toFixed(0) + ' min'} ` +
        `at ~${SOFTWARE_FLOPS_PER_S / 1e9} GFLOP/s. Add --force to run it anyway, or try smaller flags, e.g. ` +
        `--preset gpt3 --seq 16 --layers 2 (GPT-3 widths, short sequence) or --d-model 1024 --heads 8 --seq 128`,
    );
  }
}

/** Which layers sampled verification checks: all when few, otherwise first, last and evenly between. */
export function layersToCheck(layers: number, wanted?: number): Set<number> {
  const count = Math.min(layers, wanted ?? Math.min(layers, 8));
  const set = new Set<number>();
  if (count === 1) return new Set([0]);
  for (let i = 0; i < count; i++) set.add(Math.round((i * (layers - 1)) / (count - 1)));
  return set;
}
