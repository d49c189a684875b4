// `webgpu-attention run`: one attention stack on the best adapter, with progress, timings and
// verification against the float64 CPU reference (exact, or sampled at GPT-3 scale).

import { writeSync } from 'node:fs';
import { totalmem } from 'node:os';
import { intFlag, parseFlags, RUN_FLAGS, type Flags } from './args.js';
import { watchInterrupts, type Interrupts } from './interrupts.js';
import { onStdoutFailure } from './stdout.js';
import { progressReporter } from './progress.js';
import { printRunSummary, runReport } from './report.js';
import { configWithFiles, openFiles, type RunFiles } from './run-files.js';
import { modelFilesProvenance, notVerified, outputDtype, printJson, provenanceOf, runOutcome, writeOutput } from './run-outcome.js';
import { measurePrecisionLoss } from './precision-loss.js';
import { checkSizesInNumbers } from './sizes.js';
import { checkSoftwareRun, slowRunNote, type SlowRunCheck } from './slow-run.js';
import { checkDecodeRequest, decodeFlags, type DecodeRequest, decodeOutcome, decodeReport, decodeSummaryLine, DECODE_USAGE, stepLine, TextStream } from './decode-run.js';
import { modelProvenance, nextTokenLines, nextTokens, openModelRun, tokensLine, type ModelRun } from './model-run.js';
import type { AttentionTuneResult } from '../tune/attention.js';
import { ConfigError, type AttentionConfig } from '../model/config.js';
import { Engine, type LayerProbe, type LayerProgress, type RunOptions, type RunResult } from '../model/engine.js';
import { generate, type GenerateResult } from '../model/generate.js';
import { planSession } from '../model/session.js';
import { layerFlops } from '../model/flops.js';
import { seededInputs } from '../model/seeded.js';
import type { Inputs, WeightSource } from '../model/weights.js';
import type { TuneResult } from '../tune/matmul.js';
import { describeTile } from '../kernels/matmul.js';
import { createNodeGpu } from '../node/dawn.js';
import { checkOutputPath, refuseOutputOverInputs } from '../node/paths.js';
import { inputFileNotes, inputsFromFile, scanWeightsFinite, weightFileNotes, weightsFromFile } from '../node/safetensors-file.js';
import { defaultTuneStore } from '../node/tune-store.js';
import { verifyExactLayers, type Verification } from '../verify/exact.js';
import { checkModelEnds, withModelEnds } from '../verify/model-ends.js';
import { escapeUntrusted } from '../io/escape.js';
import { summarizeSampled, verifyLayerSampled, type LayerVerification } from '../verify/sampled.js';

export { runOutcome, type RunStatus } from './run-outcome.js';

export const RUN_USAGE = `webgpu-attention run [flags]
  --preset gpt3                    start from GPT-3's shape (d_model 12288, 96 heads × 128, 96 layers, seq 2048)
  --layers N --heads N --d-model N --d-head N --seq N   override each dimension
  --max-seq N                      longest sequence the model allows (default 2048; alias --context)
  --cross [--kv-seq N]             cross-attention: keys and values from a second sequence, the context,
                                   of N tokens (never masked; alias --context-seq)
  --no-mask                        self-attention without the causal mask
  --norm layernorm|none            GPT-3's pre-LayerNorm x + Attn(LN(x)) (the gpt3 preset's), or the bare
                                   block x + Attn(x) (the default otherwise; a weights file with
                                   input_layernorm tensors selects layernorm)
  --block attention|full           attention: the chapter's stack x += Attn(LN?(x)) (default); full: each
                                   layer as GPT-2 and OPT run it, x += Attn(LN1(x)); x += MLP(LN2(x)),
                                   MLP = fc2(act(fc1·h + b1)) + b2 (implies --norm layernorm)
  --ffn N                          the MLP's hidden width with --block full (default 4·d_model)
  --activation gelu_new|relu       the MLP's activation with --block full (default gelu_new, GPT-2's)
  --bias                           add the projections' biases
  --seed N                         seed of generated weights and inputs (default 1)
  --weights FILE.safetensors       layers.{l}.self_attn.{q,k,v,o}_proj.weight (+ .bias), F32, [out, in]
  --input FILE.safetensors         x [seq, d_model] (+ context [context_seq, d_model] with --cross)
  --model DIR                      a Hugging Face GPT-2 or OPT checkpoint folder (config.json, model.safetensors
                                   or shards with model.safetensors.index.json, tokenizer.json): its shape,
                                   weights (streamed per layer) and embeddings; --block full by default
  --text "…" | --tokens 5,17,42    --model's input: text through the checkpoint's tokenizer.json (adding what
                                   it adds, e.g. OPT's </s>), or token ids as given
  --top N                          with --model: the N most likely next tokens (default 5)
  --output FILE.safetensors        write y [seq, d_model] (with --model also logits [vocab] of the last
                                   position) atomically, with __metadata__ saying how it was
                                   made; only when verification passed (or --verify none) and y is finite
  --keep-failed-output             write --output even when verification failed or y is not finite
  --keep-partial-output            write --output even when interrupted (SIGINT/SIGTERM) mid-stack
  --verify exact|sampled|none      float64 CPU check: every element of every layer from the GPU's own
                                   input to it, or Freivalds + sampled heads per layer, or none
                                   (reported as not verified)
  --verify-layers N                sampled mode: how many layers to check (default: all, at most 8 spread out)
  --json                           one JSON object on stdout
  --force                          run a configuration a software adapter would take over 10 min for (priced at
                                   rates measured here by a short probe)
  --precision f32|f16              storage of weights, activations, q/k/v and patterns (f16: half the bytes,
                                   f32 accumulation; the residual stream stays f32); f16 needs the
                                   adapter feature shader-f16
  --precision-loss                 with f16, also run the stack in f32 and report the distance
                                   (default with --verify exact)
  --output-dtype f32|f16           the dtype of --output's y (f16 refuses values beyond ±65504)
  --attention auto|fused|materialized   the attention core: three passes over a pattern buffer, or one
                                   fused pass without it (d_head <= 128); auto: fused where one head's
                                   pattern would not fit a binding, else the core timed faster here
                                   (see --tune), else materialized (fused on a software adapter whose
                                   matmuls cannot run the shuffle kernel)
  --tune | --no-tune | --retune    matmul tile config: by default timed once per hardware adapter (about a
                                   second) and kept in ~/.cache/webgpu-attention/ (WEBGPU_ATTENTION_TUNE_DIR),
                                   and likewise which attention core is faster for this d_head (auto);
                                   --tune also on a software adapter, --no-tune uses the measured
                                   defaults, --retune times again
${DECODE_USAGE}`;

/** CPU float64 work we accept for `--verify exact` before suggesting `sampled`. */
const EXACT_FLOP_LIMIT = 2e10;

export async function runCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, RUN_FLAGS);
  if (flags.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const request = parseRunRequest(flags);
  const opened = openRunInputs(flags, request);
  try {
    const engine = await Engine.create(createNodeGpu());
    try {
      const planned = await planRun(engine, flags, request, opened);
      const tuning = await tune(engine, request.tuneWhen, opened.cfg, request.attention, request.json);
      const status = { step: 'starting' };
      const interrupts = watchRunInterrupts(status, request.json);
      // What the run prints as it goes (--decode's text) cannot arrive once stdout fails: stop, as on a signal.
      const unwatch = onStdoutFailure((why) => interrupts.stop('stdout', why));
      let ran: StackRun;
      let verification: Verification;
      try {
        ran = await runStack(engine, request, opened, planned, status, interrupts);
        verification = await verifyRun(opened, planned, ran, status, interrupts);
      } finally {
        unwatch();
        interrupts.dispose();
      }
      return await reportAndWrite(engine, flags, request, opened, planned, ran, verification, tuning, interrupts.received);
    } finally {
      engine.destroy();
    }
  } finally {
    opened.close();
  }
}

type AttentionFlag = 'auto' | 'fused' | 'materialized';
type VerifyMode = 'exact' | 'sampled' | 'none';

/** The flags checked before any file is opened or any GPU work starts. */
interface RunRequest {
  json: boolean;
  seed: number;
  outputPath: string | null;
  verifyLayers: number | undefined;
  tuneWhen: { when: boolean | 'auto'; retune: boolean };
  attention: AttentionFlag;
  decode: DecodeRequest | null;
}

/** Step 1, parse: every flag and path checked before any file is opened or GPU work starts. */
function parseRunRequest(flags: Flags): RunRequest {
  const json = flags.json === true;
  const seed = intFlag(flags, 'seed', { min: 0 }) ?? 1;
  const outputPath = flags.output !== undefined ? checkOutputPath('--output', String(flags.output)) : null;
  if (outputPath !== null) refuseOutputOverInputs('--output', String(flags.output), outputPath, inputPaths(flags));
  outputDtype(flags); // checked before any work
  const verifyLayers = intFlag(flags, 'verify-layers');
  const tuneWhen = tuneFlags(flags);
  const attention = attentionFlag(flags);
  const decode = decodeFlags(flags);
  return { json, seed, outputPath, verifyLayers, tuneWhen, attention, decode };
}

/** What the run reads, opened and checked: the configuration, weights, inputs and notes about them. */
interface RunInputs {
  model: ModelRun | null;
  files: RunFiles;
  cfg: AttentionConfig;
  mode: VerifyMode;
  weights: WeightSource;
  /** A model run's tables and tokens (its x is the tokens' embeddings, computed on the GPU). */
  modelInput: RunOptions['model'];
  fileInputs: Inputs | null;
  notes: string[];
  close(): void;
}

/**
 * Step 2, open inputs: --model's checkpoint or the --weights and --input files, the configuration they give, the
 * verification mode, every size in numbers and every weight scanned for NaN/Inf, all before any GPU work.
 */
function openRunInputs(flags: Flags, { outputPath, verifyLayers, decode, seed }: RunRequest): RunInputs {
  const model = openModelRun(flags);
  const close = () => {
    files.weights?.close();
    files.input?.close();
    model?.checkpoint.close();
  };
  let files: RunFiles = { weights: null, input: null };
  try {
    if (model && outputPath !== null) {
      refuseOutputOverInputs('--output', String(flags.output), outputPath, model.checkpoint.inputPaths().map((path) => ({ flag: '--model', path })));
    }
    files = model ? files : openFiles(flags);
    const cfg = model ? model.cfg : configWithFiles(flags, files);
    const mode = verifyMode(flags, cfg);
    if (verifyLayers !== undefined && mode !== 'sampled') throw new ConfigError(`--verify-layers applies to --verify sampled only (this run verifies: ${mode})`);
    checkSizesInNumbers(cfg, mode); // in numbers, before anything is allocated
    if (decode) checkDecodeRequest(cfg, decode, model ? { rows: model.checkpoint.config.positionRows, offset: model.checkpoint.config.positionOffset } : undefined);
    const weights: WeightSource = model ? model.checkpoint.weightSource(cfg.layers) : files.weights ? weightsFromFile(files.weights, cfg) : { kind: 'seeded', seed };
    const modelInput = model ? { tensors: model.checkpoint.modelTensors(), tokens: model.tokens } : undefined;
    // Every weight the run will use, scanned for NaN/Inf before any GPU work (a later layer too).
    if (files.weights) scanWeightsFinite(files.weights, cfg);
    if (model) model.checkpoint.scanFinite(cfg.layers);
    const fileInputs: Inputs | null = files.input ? inputsFromFile(files.input, cfg) : null;
    const notes = model ? [tokensLine(model), `${escapeUntrusted(model.checkpoint.dir, 100, 'end')}: ${model.checkpoint.dtypes()}`, ...model.checkpoint.notes]
      : [...(files.weights ? weightFileNotes(files.weights, cfg) : []), ...(files.input ? inputFileNotes(files.input, cfg) : [])];
    return { model, files, cfg, mode, weights, modelInput, fileInputs, notes, close };
  } catch (e) {
    close();
    throw e;
  }
}

interface PlannedRun {
  /** The memory the decode plan may use (a software adapter's is this machine's); undefined without --decode. */
  plan: { memoryBytes?: number } | undefined;
  /** The stack's input: the file's or the seeded one (a model run's x is set from its embeddings after the run). */
  inputs: Inputs;
  /** How a software adapter's run was priced (slow-run.ts); null on a hardware adapter. */
  slowRunCheck: SlowRunCheck | null;
}

/**
 * Step 3, plan: every size against the adapter's limits (with --decode the KV cache too), before any GPU work; on a
 * software adapter the time priced, from a small probe where a floor bound does not clear it (slow-run.ts).
 */
async function planRun(engine: Engine, flags: Flags, request: RunRequest, { cfg, model, modelInput, fileInputs, notes }: RunInputs): Promise<PlannedRun> {
  const { decode, attention, seed } = request;
  const plan = decode ? { memoryBytes: engine.adapter.isSoftware ? totalmem() : undefined } : undefined;
  if (decode) planSession(engine, cfg, { inputs: fileInputs ?? undefined, model: modelInput, attention, plan });
  else engine.plan(cfg, { inputs: fileInputs ?? undefined, model: modelInput, attention });
  const inputs: Inputs = model ? { x: new Float32Array(0), context: null } : fileInputs ?? seededInputs(seed, cfg);
  const slowRunCheck = await checkSoftwareRun(engine, cfg, flags.force === true);
  if (!request.json) {
    console.error(`adapter: ${engine.adapter.name}${engine.adapter.isSoftware ? ' (software adapter)' : ''}`);
    const priced = slowRunNote(slowRunCheck);
    for (const note of priced ? [...notes, priced] : notes) console.error(`note: ${note}`);
  }
  return { plan, inputs, slowRunCheck };
}

/** SIGINT/SIGTERM stop after the current layer; a second Ctrl-C quits at once, with --json still one JSON object on stdout. */
function watchRunInterrupts(status: { step: string }, json: boolean): Interrupts {
  return watchInterrupts(() => status.step, json ? (message) => {
    try {
      writeSync(1, JSON.stringify({ status: 'interrupted', exitCode: 130, message }) + '\n');
    } catch {
      // a closed or full stdout: the exit status still says it
    }
  } : undefined);
}

interface StackRun {
  result: RunResult;
  generated: GenerateResult | null;
  /** Exact mode: the GPU's residual stream before the first layer and after each. */
  states: Float32Array[];
  /** Sampled mode: each checked layer's verification, made while its buffers existed. */
  layerChecks: LayerVerification[];
}

/** Step 4, run: the stack (and with --decode its steps), keeping what verification needs layer by layer. */
async function runStack(engine: Engine, request: RunRequest, opened: RunInputs, { plan, inputs }: PlannedRun, status: { step: string }, interrupts: Interrupts): Promise<StackRun> {
  const { seed, attention, decode, json } = request;
  const { cfg, mode, weights, model, modelInput } = opened;
  const layerChecks: LayerVerification[] = [];
  const checkLayers = mode === 'sampled' ? layersToCheck(cfg.layers, request.verifyLayers) : new Set<number>();
  // Exact mode is layer-local: it needs the GPU's residual stream after every layer.
  const states: Float32Array[] = mode === 'exact' ? [inputs.x] : [];
  const progress = progressReporter();
  const onLayer = async (p: LayerProgress, probe: LayerProbe) => {
    status.step = `layer ${p.layer + 1} of ${p.layers} ran`;
    let note = '';
    if (mode === 'exact') states.push(await probe.readOutput());
    if (checkLayers.has(p.layer)) {
      const check = await verifyLayerSampled(cfg, p.layer, probe, weights, inputs.context, { seed: seed + 7919 * (p.layer + 1) });
      layerChecks.push(check);
      note = `check ${check.passed ? 'passed' : 'FAILED'} (${check.ms.toFixed(0)} ms)`;
    }
    progress(p, note); // stderr: beside --json's stdout, never in it
  };
  const runOptions: RunOptions = { seed, weights, ...(model ? { model: modelInput } : { inputs }), attention, keepLayerInput: mode === 'sampled', onLayer, signal: interrupts.signal };
  let result: RunResult;
  let generated: GenerateResult | null = null;
  if (decode) {
    const text = model?.tokenizer && !json ? new TextStream(model.tokenizer, [...model.tokens], (s) => process.stdout.write(s)) : null;
    const collected: number[] = []; // the tokens chosen so far, for the growing text
    generated = await generate(engine, cfg, {
      ...runOptions, steps: decode.steps, sampling: { temperature: decode.temperature, seed }, verify: mode,
      verifyLayers: mode === 'sampled' ? checkLayers : undefined, verifySeed: seed, plan,
      onPrefill: (_r, token) => {
        status.step = `decode step 1 of ${decode.steps}`;
        if (token !== null) collected.push(token);
        if (text && token !== null) {
          process.stdout.write('text         ');
          text.show(collected);
        }
      },
      onStep: (s, next) => {
        status.step = `decode step ${s.step + 2} of ${decode.steps}`;
        if (next !== null) collected.push(next);
        if (text && next !== null) text.show(collected);
        if (!text) console.error(stepLine(s, decode.steps)); // the growing text has the terminal otherwise
      },
    });
    if (text) process.stdout.write('\n');
    result = generated.prefill;
  } else result = await engine.run(cfg, runOptions);
  if (model) {
    // A model run's x is the tokens' embeddings, computed on the GPU.
    if (!result.embedded) throw new Error('the engine returned no embeddings for a model run');
    inputs.x = result.embedded;
    if (mode === 'exact') states[0] = result.embedded;
  }
  return { result, generated, states, layerChecks };
}

/** Step 5, verify: exact (every layer from the GPU's input to it), the sampled checks made during the run, or none. */
async function verifyRun({ cfg, mode, weights, model, modelInput }: RunInputs, { inputs }: PlannedRun, { result, states, layerChecks }: StackRun,
  status: { step: string }, interrupts: Interrupts): Promise<Verification> {
  status.step = `verifying ${result.layersRun} layer(s), ${mode}`;
  let verification: Verification;
  if (mode === 'exact') {
    console.error(`${status.step}: float64 on the CPU…`);
    // Stopped mid-stack: the layers that ran are still checked (a further signal stops that).
    // A signal that came after the last layer asks to stop before the verification; a failed stdout
    // skips it (its report could not arrive).
    const skip = interrupts.received === 'stdout' || (interrupts.received !== null && !result.stopped);
    const signal = skip ? AbortSignal.abort() : interrupts.next();
    verification = await verifyExactLayers(cfg, weights, inputs, states, { signal });
  } else if (mode === 'sampled') {
    verification = summarizeSampled(layerChecks);
  } else verification = notVerified();
  // Both ends of a model run, whatever the mode: the embeddings and the logits recomputed in float64.
  if (model && mode !== 'none') verification = withModelEnds(verification, checkModelEnds(cfg, modelInput!, result));
  return verification;
}

/** Steps 6 and 7, report and write: the outcome, --output (written first: the report names it), then the report. */
async function reportAndWrite(engine: Engine, flags: Flags, request: RunRequest, opened: RunInputs, { inputs, slowRunCheck }: PlannedRun, ran: StackRun, verification: Verification,
  tuning: Awaited<ReturnType<typeof tune>>, interrupted: Interrupts['received']): Promise<number> {
  const { seed, attention, decode, outputPath, json } = request;
  const { cfg, mode, weights, model, modelInput, files, notes } = opened;
  const { result, generated, layerChecks } = ran;
  const precisionLoss = await measurePrecisionLoss(engine, cfg, flags, mode, result, { seed, weights, ...(model ? { model: modelInput } : { inputs }), attention }, interrupted !== null);
  const outcome = generated && decode
    ? decodeOutcome(runOutcome(result, verification, result.stopped ? interrupted : null), generated, decode.steps, interrupted)
    : runOutcome(result, verification, interrupted);
  const provenance = model ? { 'webgpu-attention.seed': String(seed), ...modelProvenance(model), ...modelFilesProvenance(model.checkpoint.files) } : provenanceOf(seed, [{ flag: 'weights', file: files.weights }, { flag: 'input', file: files.input }]);
  const written = writeOutput(outputPath, flags, result, verification, outcome, provenance);
  // The next token: only from a stack that ran to its end (a partial stack's logits are not the model's).
  const next = model && result.logits && !result.stopped ? nextTokens(result.logits, model.top, model.tokenizer) : null;
  const report = {
    ...runReport(result, verification, layerChecks, tuning), precisionLoss,
    status: outcome.status, exitCode: outcome.exitCode, message: outcome.message, notes, output: written, slowRunCheck,
    ...(model ? { tokens: [...model.tokens], nextTokens: next } : {}),
    ...(generated && decode ? { decode: decodeReport(generated.decode, decode.steps) } : {}),
    ...(generated?.generated ? { generated: generated.generated } : {}),
  };
  // The report cannot arrive through a failed stdout: its outcome goes to stderr, beside main's line saying so.
  if (interrupted === 'stdout') console.error(`status: ${outcome.status}: ${outcome.message}`);
  if (json) await printJson(report);
  else {
    printRunSummary(report);
    if (generated && decode) {
      console.log(decodeSummaryLine(generated.decode, decode.steps));
      if (generated.generated) console.log(`generated    ${generated.generated.length} token(s): [${generated.generated.join(', ')}]`);
    }
    if (model) console.log(next ? `next token   (last of ${model.tokens.length} tokens; softmax of the logits in float64)\n${nextTokenLines(next).join('\n')}` : 'next token   none: the stack did not run to its end');
    if (precisionLoss) {
      console.log(`precision    f16` + ('skipped' in precisionLoss ? `: precision loss ${precisionLoss.skipped}` :
        `: distance from the same stack in f32 ${precisionLoss.maxRelativeToRms.toExponential(2)} of the output RMS at worst, ${precisionLoss.rmsRelative.toExponential(2)} RMS (precision loss, not the verdict)`));
    }
  }
  return outcome.exitCode;
}

/** The files a run reads, by flag: --output may be none of them. */
function inputPaths(flags: Flags): { flag: string; path: string }[] {
  return (['weights', 'input'] as const).filter((f) => typeof flags[f] === 'string' && flags[f] !== '').map((f) => ({ flag: `--${f}`, path: String(flags[f]) }));
}

function attentionFlag(flags: Flags): AttentionFlag {
  const value = (flags.attention as string | undefined) ?? 'auto';
  if (value !== 'auto' && value !== 'fused' && value !== 'materialized') throw new ConfigError(`--attention must be auto, fused or materialized, got '${value}'`);
  return value;
}

/** --tune, --no-tune, --retune: when to time (checked before any work: --no-tune contradicts the others). */
function tuneFlags(flags: Flags): { when: boolean | 'auto'; retune: boolean } {
  if (flags['no-tune'] && (flags.tune || flags.retune)) throw new ConfigError('--no-tune contradicts --tune and --retune');
  return { when: flags['no-tune'] ? false : flags.tune || flags.retune ? true : 'auto', retune: flags.retune === true };
}

/** The matmul tile config and, for this head width, the attention core: stored, timed, or default. */
async function tune(engine: Engine, { when, retune }: { when: boolean | 'auto'; retune: boolean }, cfg: AttentionConfig, attentionFlag: 'auto' | 'fused' | 'materialized', quiet: boolean):
  Promise<{ matmul: TuneResult; attention: AttentionTuneResult }> {
  const precision = cfg.precision;
  const matmul = await engine.tuneMatmul({ tune: when, retune, store: defaultTuneStore('matmul'), precision });
  if (!quiet && matmul.source === 'tuned') {
    console.error(`matmul tuned in ${((matmul.tuneMs ?? 0) / 1000).toFixed(1)} s: ${describeTile(matmul.tile)}`);
  }
  // Only the engine's own choice (--attention auto) needs the timing.
  const attention = attentionFlag === 'auto'
    ? await engine.tuneAttention(cfg.dHead, { tune: when, retune, store: defaultTuneStore('attention'), precision })
    : { mode: null, source: 'default' as const };
  if (!quiet && attention.source === 'tuned') {
    console.error(`attention core timed: ${attention.mode} (materialized ${attention.materializedMs!.toFixed(2)} ms, fused ${attention.fusedMs!.toFixed(2)} ms per layer)`);
  }
  return { matmul, attention };
}


function verifyMode(flags: Flags, cfg: AttentionConfig): VerifyMode {
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

/** Which layers sampled verification checks: all when few, otherwise first, last and evenly between. */
export function layersToCheck(layers: number, wanted?: number): Set<number> {
  const count = Math.min(layers, wanted ?? Math.min(layers, 8));
  const set = new Set<number>();
  if (count === 1) return new Set([0]);
  for (let i = 0; i < count; i++) set.add(Math.round((i * (layers - 1)) / (count - 1)));
  return set;
}
