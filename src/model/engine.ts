// The engine: a GPU context, its pipeline cache, and `run`, which executes a layer stack on
// the GPU: weights generated (or uploaded) per layer into reused buffers, one command buffer
// per layer, GPU time per stage from timestamp queries, the residual stream checked for NaN/Inf
// on the GPU after every layer, and the output read back at the end. `run` is three steps:
// allocate and prepare (RunBuffers, prepare), encode and submit each layer (runLayer), collect
// the timings (StageClock).

import { resolveConfig, type AttentionConfig } from './config.js';
import { chooseAttention } from './attention-choice.js';
import { tuneAttentionChoice, type AttentionTuneOptions, type AttentionTuneResult } from '../tune/attention.js';
import { layerFlops } from './flops.js';
import { prepareLayer, type Stage } from './layer.js';
import { prepareSeededFills, type SeededFill } from './layer-weights.js';
import { loadLayerWeights } from './layer-source.js';
import { planMemory, type AttentionMode, type MemoryPlan, type PlanLimits } from './plan.js';
import { RunBuffers } from './run-buffers.js';
import { seededInputs } from './seeded.js';
import { StageClock } from './stage-times.js';
import { checkInputs, checkModel, type Inputs, type WeightSource } from './weights.js';
import { ModelEnds } from './model-ends.js';
import type { KvCache } from './kv-cache.js';
import { readBack } from '../gpu/buffers.js';
import { GpuContext, type AdapterDescription, type DeviceOptions } from '../gpu/device.js';
import { formatBytes, GpuError, InputError } from '../gpu/errors.js';
import { PipelineCache } from '../gpu/pipelines.js';
import { PassTimer } from '../gpu/timing.js';
import { encode, firstUse, release, type PreparedDispatch } from '../gpu/dispatch.js';
import { autotuneMatmul, type AutotuneOptions, type TuneResult } from '../tune/matmul.js';
import { adapterKey } from '../tune/store.js';
import { defaultTileFor, isShuffle, type MatmulTile } from '../kernels/matmul.js';
import { ALL_FINITE, prepareFiniteCheck, type FiniteCheck } from '../kernels/finite_check.js';
import { requireF16, type Precision } from '../gpu/precision.js';

export type { LayerProbe } from './run-buffers.js';
export type { StageTimings } from './stage-times.js';
export { planStages } from './stage-times.js';

export type { LayerProgress, RunOptions, RunResult } from './run-types.js';
import type { RunOptions, RunResult } from './run-types.js';

const PATTERN_CAPTURE_LIMIT = 64 * 1024 * 1024;
/** Stages that add into the residual stream: never run ahead of layer 0 (first use). */
const ACCUMULATING: ReadonlySet<Stage['name']> = new Set(['output', 'mlp-down']);

/** What `run` prepares once and encodes for every layer. */
interface PreparedRun {
  stages: Stage[];
  fills: SeededFill[] | null;
  finite: FiniteCheck;
  dispatches: PreparedDispatch[];
}

export class Engine {
  readonly cache: PipelineCache;
  /** The matmul tile config per storage precision, once tuned or read from a store (tuneMatmul). */
  private readonly tuned = new Map<Precision, MatmulTile>();
  /** The faster attention core per head width and precision, once timed or read from a store (tuneAttention). */
  private readonly attentionChoices = new Map<string, AttentionMode>();

  private constructor(readonly gpu: GpuContext) {
    this.cache = new PipelineCache(gpu);
  }

  static async create(gpu: GPU, options: DeviceOptions = {}): Promise<Engine> {
    return new Engine(await GpuContext.create(gpu, options));
  }

  get adapter(): AdapterDescription {
    return this.gpu.adapterInfo;
  }

  /** The matmul tile config f32 runs start from: tuned, or the adapter's measured default. */
  get matmulTile(): MatmulTile {
    return this.matmulTileFor('f32');
  }

  /** The matmul tile config runs of this storage precision start from. */
  matmulTileFor(precision: Precision): MatmulTile {
    return this.tuned.get(precision) ?? defaultTileFor(this.gpu);
  }

  /**
   * Chooses the matmul tile config for this adapter (src/tune/matmul.ts): a stored or remembered choice,
   * a timing of the candidates, or the default when tuning is off ('auto': hardware adapters only).
   */
  async tuneMatmul(options: AutotuneOptions = {}): Promise<TuneResult> {
    const result = await autotuneMatmul(this.gpu, this.cache, options);
    this.tuned.set(options.precision ?? 'f32', result.tile);
    return result;
  }

  /**
   * Chooses the attention core for this adapter and head width (attention-choice.ts): a stored
   * choice, or both cores timed on a short causal stack. 'auto' runs then use the choice
   * wherever the pattern fits a binding.
   */
  async tuneAttention(dHead: number, options: AttentionTuneOptions = {}): Promise<AttentionTuneResult> {
    const precision = options.precision ?? 'f32';
    const result = await tuneAttentionChoice(adapterKey(this.gpu.adapterInfo), dHead, this.gpu.limits, this.gpu.adapterInfo.isSoftware, options,
      async (cfg, attention) => (await this.run({ ...cfg, precision }, { attention, seed: 1 })).timings.perLayerMs, () => this.gpu.lostReason !== null);
    if (result.mode) this.attentionChoices.set(`${dHead}|${precision}`, result.mode);
    return result;
  }

  /** Checks the configuration and inputs and plans memory; throws before any GPU work. */
  plan(config: Partial<AttentionConfig>, options: RunOptions = {}): { cfg: AttentionConfig; plan: MemoryPlan } {
    const cfg = resolveConfig(options.precision ? { ...config, precision: options.precision } : config);
    if (cfg.precision === 'f16') requireF16(this.gpu, 'run');
    const limits: PlanLimits = {
      maxStorageBufferBindingSize: Math.min(this.gpu.limits.maxStorageBufferBindingSize, options.limits?.maxStorageBufferBindingSize ?? Infinity),
      maxBufferSize: Math.min(this.gpu.limits.maxBufferSize, options.limits?.maxBufferSize ?? Infinity),
      minStorageBufferOffsetAlignment: Math.max(this.gpu.limits.minStorageBufferOffsetAlignment, options.limits?.minStorageBufferOffsetAlignment ?? 0),
    };
    const adapter = { isSoftware: this.gpu.adapterInfo.isSoftware, shuffleMatmul: isShuffle(this.matmulTileFor(cfg.precision)) };
    const attention = chooseAttention(cfg, { ...pickTileLimits(this.gpu.limits), ...limits }, adapter, {
      wanted: options.attention, capturePatterns: options.capturePatterns, tuned: this.attentionChoices.get(`${cfg.dHead}|${cfg.precision}`), patternBytes: options.plan?.patternBytes,
    });
    const model = options.model;
    if (model && options.inputs) throw new InputError('a model run computes x from its tokens: give RunOptions.model or inputs, not both');
    if (model) checkModel(model, cfg);
    const planModel = model ? {
      vocab: model.tensors.vocab, positionRows: model.tensors.positionEmbedding.length / cfg.dModel, tiedUnembedding: model.tensors.unembedding === model.tensors.tokenEmbedding,
    } : undefined;
    const plan = planMemory(cfg, limits, { ...options.plan, attention, model: planModel, keepLayerInput: options.keepLayerInput });
    if (options.inputs) checkInputs(options.inputs, cfg);
    if (options.capturePatterns) {
      const bytes = cfg.layers * cfg.heads * cfg.seq * cfg.kvSeq * 4;
      if (bytes > PATTERN_CAPTURE_LIMIT) {
        throw new InputError(`capturing patterns needs ${formatBytes(bytes)}, over the ${formatBytes(PATTERN_CAPTURE_LIMIT)} allowed: use fewer --layers, --heads or a shorter --seq`);
      }
    }
    return { cfg, plan };
  }

  async run(config: Partial<AttentionConfig>, options: RunOptions = {}): Promise<RunResult> {
    const { cfg, plan } = this.plan(config, options);
    const seed = options.seed ?? 1;
    const weights: WeightSource = options.weights ?? { kind: 'seeded', seed };
    // A model run's x is computed on the GPU from its tokens: until then it holds NaN (the poison).
    const inputs: Inputs = options.model ? { x: new Float32Array(cfg.seq * cfg.dModel).fill(Number.NaN), context: null } : options.inputs ?? seededInputs(seed, cfg);
    if (!options.model) checkInputs(inputs, cfg);
    const gpu = this.gpu;
    const timer = new PassTimer(gpu, 5 + 3 * plan.headGroups + 2 * Math.ceil(cfg.seq / plan.mlpRows) + 16);
    let buffers: RunBuffers | null = null;
    let prepared: PreparedRun | null = null;
    let ends: ModelEnds | null = null;
    try {
      const b = await gpu.scoped('allocating buffers', () => new RunBuffers(gpu, cfg, plan, inputs, options));
      buffers = b;
      const tiles: { tile: MatmulTile } | { baseTile: MatmulTile } = options.tile ? { tile: options.tile } : { baseTile: this.matmulTileFor(cfg.precision) };
      const compileStart = performance.now();
      const pipelinesBefore = this.cache.size;
      const p = await this.prepare(cfg, plan, b, weights, tiles);
      prepared = p;
      if (options.model) {
        const model = options.model;
        ends = await gpu.scoped('uploading the model tables', () => new ModelEnds(gpu, cfg, b.layer.x, model));
        const e = ends;
        await gpu.scoped('preparing the embedding and logits', () => e.prepare(this.cache, plan, tiles));
      }
      const compileMs = performance.now() - compileStart;
      // Each pipeline's first dispatch before layer 0 (firstUse), so a CPU adapter's machine-code
      // compile counts in `compile.firstUseMs`, not in layer 0's GPU time. Layer 0 rewrites every
      // buffer these touch before reading it (weights, LN(x), q/k/v, pattern, weighted sums); the
      // output projection, which accumulates into the residual stream, and the finite check's flag
      // are left out.
      const firstUseStart = performance.now();
      const harmless = [...(p.fills ?? []).map((f) => f.dispatch), ...p.stages.filter((s) => !ACCUMULATING.has(s.name)).flatMap((s) => s.dispatches),
        ...(ends?.dispatches ?? [])];
      await gpu.scoped('first use of the pipelines', () => firstUse(gpu, 'first use of the pipelines', harmless));
      const compile = { pipelines: this.cache.size - pipelinesBefore, ms: compileMs, firstUseMs: performance.now() - firstUseStart };
      const flops = layerFlops(cfg);
      const clock = new StageClock();
      let stopped = false;
      const start = performance.now();
      let embedded: Float32Array | null = null;
      let embeddingMs = 0;
      let logitsMs: number | null = null;
      if (ends) {
        const e = ends;
        ({ result: embedded, ms: embeddingMs } = await timedSubmit(gpu, 'embedding', (c) => e.encodeEmbed(c), () => readBack(gpu, b.layer.x, cfg.seq * cfg.dModel)));
      }
      for (let layer = 0; layer < cfg.layers; layer++) {
        if (options.signal?.aborted) {
          stopped = true;
          break;
        }
        const layerMs = await gpu.scoped(`layer ${layer}`, () => this.runLayer(cfg, b, p, timer, clock, weights, layer, options.kvCache));
        await options.onLayer?.({ layer, layers: cfg.layers, layerMs, elapsedMs: performance.now() - start, flops: flops.total }, b.probe(layer));
      }
      const output = await readBack(gpu, b.layer.x, cfg.seq * cfg.dModel);
      // The next-token logits only for the whole stack (a stopped run's would not be the model's).
      let logits: Float32Array | null = null;
      if (ends && clock.perLayerMs.length === cfg.layers) {
        const e = ends;
        ({ result: logits, ms: logitsMs } = await timedSubmit(gpu, 'final LayerNorm and logits', (c) => e.encodeFinal(c), () => e.readLogits()));
      }
      const patterns = await b.readPatterns();
      const firstBad = new Uint32Array((await readBack(gpu, p.finite.flag, 1)).buffer)[0]!;
      gpu.check('reading the output');
      const layersRun = clock.perLayerMs.length;
      return {
        config: cfg,
        adapter: gpu.adapterInfo,
        output,
        embedded,
        logits,
        patterns,
        layersRun,
        stopped,
        firstNonFiniteLayer: firstBad === ALL_FINITE ? null : firstBad,
        timings: {
          source: timer.enabled ? 'timestamp-query' : 'wall-clock', totalMs: performance.now() - start, gpuMs: clock.gpuMs,
          perLayerMs: clock.perLayerMs, perLayerStagesMs: clock.perLayerStagesMs, stagesMs: clock.stagesMs, weightsMs: clock.weightsMs,
          modelEndsMs: ends ? { embedding: embeddingMs, logits: logitsMs } : null,
        },
        flops: { perLayer: flops.total, total: flops.total * layersRun },
        tflops: clock.gpuMs > 0 ? (flops.total * layersRun) / (clock.gpuMs * 1e9) : 0,
        plan,
        peakBytes: b.bytes,
        matmulTile: 'tile' in tiles ? tiles.tile : tiles.baseTile,
        compile,
        dispatchesPerLayer: p.dispatches.length,
      };
    } catch (e) {
      if (gpu.lostReason && !(e instanceof GpuError)) throw new GpuError(gpu.lostReason, 'lost');
      throw e;
    } finally {
      if (prepared) release(prepared.dispatches);
      ends?.destroy();
      timer.destroy();
      buffers?.destroy();
    }
  }

  /** Pipelines and bind groups of every stage, the seeded fills and the finite check: once per run. */
  private async prepare(cfg: AttentionConfig, plan: MemoryPlan, b: RunBuffers, weights: WeightSource,
    tiles: { tile: MatmulTile } | { baseTile: MatmulTile }): Promise<PreparedRun> {
    const gpu = this.gpu;
    const stages = await gpu.scoped('preparing pipelines', () => prepareLayer(gpu, this.cache, cfg, plan, b.layer, tiles));
    const fills = weights.kind === 'seeded' ? await prepareSeededFills(gpu, this.cache, cfg, b.layer, weights.seed) : null;
    const finite = await prepareFiniteCheck(gpu, this.cache, { buffer: b.layer.x }, cfg.seq * cfg.dModel);
    const dispatches = [...stages.flatMap((s) => s.dispatches), ...(fills ?? []).map((f) => f.dispatch), finite.dispatch];
    return { stages, fills, finite, dispatches };
  }

  /** One layer: weights in place, one command buffer (fills, stages, finite check), its GPU time. */
  private async runLayer(cfg: AttentionConfig, b: RunBuffers, p: PreparedRun, timer: PassTimer, clock: StageClock,
    weights: WeightSource, layer: number, kvCache?: KvCache): Promise<number> {
    const gpu = this.gpu;
    const wallStart = performance.now();
    await loadLayerWeights(gpu, cfg, b.layer, weights, p.fills, layer);
    p.finite.setLayer(layer);
    const encoder = gpu.device.createCommandEncoder({ label: `layer ${layer}` });
    if (p.fills) {
      const pass = timer.beginPass(encoder, 'weights');
      for (const f of p.fills) encode(pass, f.dispatch);
      pass.end();
    }
    b.copyLayerInput(encoder);
    for (const stage of p.stages) {
      const pass = timer.beginPass(encoder, stage.name);
      for (const d of stage.dispatches) encode(pass, d);
      pass.end();
      if (stage.name === 'softmax') b.capturePattern(encoder, layer, stage.heads!);
      if (stage.name === 'output') b.copyLayerMid(encoder);
      if (stage.name === 'mlp-up') b.copyHiddenBlock(encoder, stage.tokens!);
    }
    // A decode session's prefill: this layer's k and v into its KV cache (src/model/session.ts).
    kvCache?.encodeFill(encoder, layer, b.layer.k, b.layer.v, cfg.kvSeq);
    const check = encoder.beginComputePass({ label: 'finite check' });
    encode(check, p.finite.dispatch);
    check.end();
    const readTimes = timer.resolve(encoder);
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.drain(`layer ${layer}`);
    return clock.addLayer(readTimes ? await readTimes() : null, performance.now() - wallStart);
  }

  /**
   * Frees the device and everything made on it (buffers, pipelines, query sets); in Node the
   * Dawn instance behind it is released once its last device is destroyed (src/node/dawn.ts).
   * Idempotent; the engine cannot run afterwards.
   */
  destroy(): void {
    this.gpu.destroy();
  }
}

/** One command buffer of `encode`'s work, submitted and `read` back: the result, and the wall time from encoding to read-back. */
async function timedSubmit<T>(gpu: GpuContext, label: string, encode: (encoder: GPUCommandEncoder) => void, read: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const t0 = performance.now();
  const result = await gpu.scoped(label, async () => {
    const encoder = gpu.device.createCommandEncoder({ label });
    encode(encoder);
    gpu.device.queue.submit([encoder.finish()]);
    return read();
  });
  return { result, ms: performance.now() - t0 };
}

const pickTileLimits = (l: GPUSupportedLimits) => ({
  maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
  maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
  maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
  maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
});
