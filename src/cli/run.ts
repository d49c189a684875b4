// `webgpu-attention run`: one attention stack on the best adapter, with progress, timings and
// verification against the float64 CPU reference (exact, or sampled at GPT-3 scale).

import { configFromFlags, intFlag, parseFlags, RUN_FLAGS, type Flags } from './args.js';
import { printRunSummary, runReport } from './report.js';
import { progressReporter } from './progress.js';
import { ConfigError, resolveConfig, type AttentionConfig } from '../model/config.js';
import { Engine, type LayerProbe, type LayerProgress } from '../model/engine.js';
import { layerFlops } from '../model/flops.js';
import { seededInputs } from '../model/seeded.js';
import type { Inputs, WeightSource } from '../model/weights.js';
import { createNodeGpu } from '../node/dawn.js';
import { defaultTuneStore } from '../node/tune-store.js';
import type { AttentionTuneResult } from '../model/attention-tune.js';
import type { TuneResult } from '../kernels/autotune.js';
import { describeTile } from '../kernels/matmul.js';
import { inputsFromFile, SafetensorsFile, weightFileShape, weightsFromFile, writeOutputFile } from '../node/safetensors-file.js';
import { verifyExact, type Verification } from '../verify/exact.js';
import { summarizeSampled, verifyLayerSampled, type LayerVerification } from '../verify/sampled.js';
import { InputError } from '../gpu/errors.js';

export const RUN_USAGE = `webgpu-attention run [flags]
  --preset gpt3                    start from GPT-3's shape (d_model 12288, 96 heads × 128, 96 layers, seq 2048)
  --layers N --heads N --d-model N --d-head N --seq N   override each dimension
  --context N                      longest sequence the model allows (default 2048)
  --cross [--context-seq N]        cross-attention: keys and values from a second sequence (never masked)
  --no-mask                        self-attention without the causal mask
  --bias                           add the projections' biases
  --seed N                         seed of generated weights and inputs (default 1)
  --weights FILE.safetensors       layers.{l}.self_attn.{q,k,v,o}_proj.weight (+ .bias), F32, [out, in]
  --input FILE.safetensors         x [seq, d_model] (+ context [context_seq, d_model] with --cross)
  --output FILE.safetensors        write y [seq, d_model]
  --verify exact|sampled|none      float64 CPU check: whole output, or Freivalds + sampled heads per layer
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
/** Software adapters reach a few GFLOP/s (lavapipe ≈ 4 on a 512³ matmul, ../shared/PLATFORM.md). */
const SOFTWARE_FLOPS_PER_S = 4e9;
const SOFTWARE_REFUSE_S = 600;

export async function runCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, RUN_FLAGS);
  if (flags.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const seed = intFlag(flags, 'seed', { min: 0 }) ?? 1;
  const files = openFiles(flags);
  try {
    const cfg = configWithFiles(flags, files);
    const mode = verifyMode(flags, cfg);
    const weights: WeightSource = files.weights ? weightsFromFile(files.weights, cfg) : { kind: 'seeded', seed };
    const inputs: Inputs = files.input ? inputsFromFile(files.input, cfg) : seededInputs(seed, cfg);
    const json = flags.json === true;
    const attention = attentionFlag(flags);

    const engine = await Engine.create(createNodeGpu());
    try {
      engine.plan(cfg, { inputs, attention }); // every size check, before any GPU work
      refuseSlowSoftwareRun(engine, cfg, flags.force === true);
      if (!json) console.error(`adapter: ${engine.adapter.name}${engine.adapter.isSoftware ? ' (software adapter)' : ''}`);
      const tuning = await tune(engine, flags, cfg.dHead, attention, json);

      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        console.error('\ninterrupted: stopping after the current layer (Ctrl-C again to quit now)');
        abort.abort();
      };
      process.on('SIGINT', onSigint);
      const layerChecks: LayerVerification[] = [];
      const checkLayers = mode === 'sampled' ? layersToCheck(cfg.layers, intFlag(flags, 'verify-layers')) : new Set<number>();
      const progress = progressReporter();
      const onLayer = async (p: LayerProgress, probe: LayerProbe) => {
        let note = '';
        if (checkLayers.has(p.layer)) {
          const check = await verifyLayerSampled(cfg, p.layer, probe, weights, inputs.context, { seed: seed + 7919 * (p.layer + 1) });
          layerChecks.push(check);
          note = `check ${check.passed ? 'passed' : 'FAILED'} (${check.ms.toFixed(0)} ms)`;
        }
        progress(p, note);
      };
      let result;
      try {
        result = await engine.run(cfg, { seed, weights, inputs, attention, keepLayerInput: mode === 'sampled', onLayer, signal: abort.signal });
      } finally {
        process.off('SIGINT', onSigint);
      }
      let verification: Verification | null = null;
      if (mode === 'exact') verification = await verifyExact(cfg, weights, inputs, result.output, undefined, result.layersRun);
      else if (mode === 'sampled') verification = summarizeSampled(layerChecks);
      if (flags.output) writeOutputFile(String(flags.output), result.output, cfg);

      const report = runReport(result, verification, layerChecks, tuning);
      if (json) console.log(JSON.stringify(report, null, 2));
      else printRunSummary(report);
      if (result.stopped) return 130;
      return verification && !verification.passed ? 1 : 0;
    } finally {
      engine.destroy();
    }
  } finally {
    files.weights?.close();
    files.input?.close();
  }
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
  const weights = flags.weights ? new SafetensorsFile(String(flags.weights)) : null;
  try {
    return { weights, input: flags.input ? new SafetensorsFile(String(flags.input)) : null };
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
    const where = `${files.weights.path} (${'layers.0.self_attn.q_proj.weight'} [${w.inner}, ${w.dModel}])`;
    overrides.dModel = agree('--d-model', overrides.dModel, w.dModel, where);
    if (overrides.layers === undefined) overrides.layers = w.layers;
    else if (overrides.layers > w.layers) throw new ConfigError(`--layers ${overrides.layers} exceeds the ${w.layers} layers in ${files.weights.path}`);
    if (overrides.heads === undefined && overrides.dHead === undefined) {
      throw new ConfigError(`--heads or --d-head is needed: ${files.weights.path} gives heads·d_head = ${w.inner} only`);
    }
    if (overrides.heads === undefined) overrides.heads = w.inner / overrides.dHead!;
    if (overrides.dHead === undefined) overrides.dHead = w.inner / overrides.heads;
    if (!Number.isInteger(overrides.heads) || !Number.isInteger(overrides.dHead) || overrides.heads * overrides.dHead !== w.inner) {
      throw new ConfigError(`--heads × --d-head must equal ${w.inner} (the rows of W_Q in ${files.weights.path})`);
    }
    if (w.bias) overrides.bias = true;
    if (overrides.bias && !w.bias) throw new ConfigError(`--bias: ${files.weights.path} has no biases`);
  }
  if (files.input) {
    const x = files.input.shape('x');
    if (!x || x.length !== 2) throw new InputError(`${files.input.path}: no 2-D tensor 'x' [seq, d_model]`);
    overrides.seq = agree('--seq', overrides.seq, x[0]!, `${files.input.path} (x [${x.join(', ')}])`);
    overrides.dModel = agree('--d-model', overrides.dModel, x[1]!, `${files.input.path} (x [${x.join(', ')}])`);
    if (overrides.cross) {
      const c = files.input.shape('context');
      if (!c && flags['context-seq'] === undefined) throw new InputError(`${files.input.path}: --cross needs a tensor 'context' [context_seq, d_model]`);
      if (c) overrides.contextSeq = agree('--context-seq', overrides.contextSeq, c[0]!, `${files.input.path} (context [${c.join(', ')}])`);
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
