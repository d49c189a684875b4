// The engine: a GPU context, its pipeline cache, and `run`, which executes a layer stack on
// the GPU: weights generated (or uploaded) per layer into reused buffers, one command buffer
// per layer, GPU time per stage from timestamp queries, and the output read back at the end.

import { resolveConfig, innerWidth, type AttentionConfig } from './config.js';
import { layerFlops } from './flops.js';
import { prepareLayer, type LayerBuffers, type Stage } from './layer.js';
import { prepareSeededFills, uploadLayer } from './layer-weights.js';
import { planMemory, type AttentionMode, type MemoryPlan, type PlanLimits, type PlanOptions } from './plan.js';
import { seededInputs, seededLayerNorm } from './seeded.js';
import { checkInputs, checkLayerTensors, type Inputs, type WeightSource } from './weights.js';
import { createStorage, poison, readBack, upload } from '../gpu/buffers.js';
import { GpuContext, type AdapterDescription, type DeviceOptions } from '../gpu/device.js';
import { formatBytes, GpuError, InputError } from '../gpu/errors.js';
import { PipelineCache } from '../gpu/pipelines.js';
import { PassTimer } from '../gpu/timing.js';
import { encode, release, type PreparedDispatch } from '../kernels/dispatch.js';
import { adapterKey, autotuneMatmul, type AutotuneOptions, type TuneResult, type TuneStore } from '../kernels/autotune.js';
import { attentionKey, loadAttentionChoice, saveAttentionChoice, steadyLayerMs, tuneShape, type AttentionTuneResult } from './attention-tune.js';
import { chooseAttentionTile, MAX_FUSED_D_HEAD } from '../kernels/attention.js';
import { defaultMatmulTile, type MatmulTile } from '../kernels/matmul.js';
import { ALL_FINITE, prepareFiniteCheck } from '../kernels/finite_check.js';

export interface LayerProgress {
  layer: number;
  layers: number;
  /** GPU time of this layer (timestamps), or wall time of its drained queue. */
  layerMs: number;
  elapsedMs: number;
  flops: number;
}

/** Read access to one layer's intermediate results, for verification while they still exist. */
export interface LayerProbe {
  layer: number;
  readQ(): Promise<Float32Array>;
  readK(): Promise<Float32Array>;
  readV(): Promise<Float32Array>;
  readWeighted(): Promise<Float32Array>;
  /** LN(x), what the projections read (norm 'layernorm' only). */
  readNormed(): Promise<Float32Array>;
  /** The residual stream before this layer (kept only when `keepLayerInput`). */
  readInput(): Promise<Float32Array>;
  readOutput(): Promise<Float32Array>;
}

export interface RunOptions {
  /** Default: seeded from `seed`. */
  weights?: WeightSource;
  /** Default: seeded from `seed`. */
  inputs?: Inputs;
  seed?: number;
  /** Every product with exactly this matmul tile config (tests, tuning). Default: the engine's
   * config (`tuneMatmul`, else the adapter's measured default) fitted to each product's shape. */
  tile?: MatmulTile;
  /** Overrides of the adapter's limits (smaller only): forces weight chunks and head groups in tests. */
  limits?: Partial<PlanLimits>;
  plan?: PlanOptions;
  /**
   * The attention core: 'materialized' (scores, softmax, weighted sums over a pattern buffer),
   * 'fused' (shaders/attention.wgsl, no pattern buffer; d_head up to 128), or 'auto' (default):
   * fused where one head's pattern would not fit a binding; else the core `tuneAttention` timed
   * faster for this head width; else fused on software adapters (measured faster there) and
   * materialized on hardware ones. Materialized whenever patterns are captured.
   */
  attention?: 'auto' | AttentionMode;
  /** Read back every head's pattern of every layer (small configurations: the browser's heatmaps). */
  capturePatterns?: boolean;
  /** Keep each layer's input so probes can read it (layer-local verification, exact or sampled). */
  keepLayerInput?: boolean;
  onLayer?: (progress: LayerProgress, probe: LayerProbe) => void | Promise<void>;
  /** Stops after the current layer (Ctrl-C). */
  signal?: AbortSignal;
}

export interface StageTimings {
  /** LayerNorm of the query-side input (norm 'layernorm'). */
  norm: number;
  qkv: number;
  scores: number;
  softmax: number;
  weighted: number;
  /** The fused attention core (scores, softmax and weighted sums in one pass). */
  fused: number;
  output: number;
}

export interface RunResult {
  config: AttentionConfig;
  adapter: AdapterDescription;
  output: Float32Array;
  /** [layers][heads][seq·contextSeq] when capturePatterns was set. */
  patterns: Float32Array[][] | null;
  layersRun: number;
  stopped: boolean;
  /**
   * The first layer after which the residual stream held a NaN or ±Inf (checked on the GPU
   * after every layer, whatever the verification), or null when it stayed finite.
   */
  firstNonFiniteLayer: number | null;
  timings: {
    source: 'timestamp-query' | 'wall-clock';
    totalMs: number;
    gpuMs: number;
    perLayerMs: number[];
    /** Each layer's GPU time per stage (empty without timestamp queries). */
    perLayerStagesMs: StageTimings[];
    stagesMs: StageTimings;
    /** Filling or uploading weights, outside the attention arithmetic. */
    weightsMs: number;
  };
  flops: { perLayer: number; total: number };
  tflops: number;
  plan: MemoryPlan;
  peakBytes: number;
  /** The matmul tile config: the one given, or the engine's that each product's shape was fitted from. */
  matmulTile: MatmulTile;
}

/**
 * The stages a plan's layers run, in order: LayerNorm first with norm 'layernorm'; the fused
 * core replaces scores, softmax and weighted sums.
 */
export function planStages(attention: AttentionMode, norm: AttentionConfig['norm'] = 'none'): (keyof StageTimings)[] {
  const core: (keyof StageTimings)[] = attention === 'fused' ? ['fused'] : ['scores', 'softmax', 'weighted'];
  return [...(norm === 'layernorm' ? ['norm' as const] : []), 'qkv', ...core, 'output'];
}

const zeroTimings = (): StageTimings => ({ norm: 0, qkv: 0, scores: 0, softmax: 0, weighted: 0, fused: 0, output: 0 });

const PATTERN_CAPTURE_LIMIT = 64 * 1024 * 1024;

export class Engine {
  readonly cache: PipelineCache;
  private tuned: MatmulTile | null = null;
  /** The faster attention core per head width, once timed or read from a store (tuneAttention). */
  private readonly attentionChoices = new Map<number, AttentionMode>();

  private constructor(readonly gpu: GpuContext) {
    this.cache = new PipelineCache(gpu);
  }

  /** The matmul tile config runs start from: tuned, or the adapter's measured default. */
  get matmulTile(): MatmulTile {
    return this.tuned ?? defaultMatmulTile(this.gpu.adapterInfo, this.gpu.limits);
  }

  /**
   * Chooses the matmul tile config for this adapter (autotune.ts): a stored or remembered choice,
   * a timing of the candidates, or the default when tuning is off ('auto': hardware adapters only).
   */
  async tuneMatmul(options: AutotuneOptions = {}): Promise<TuneResult> {
    const result = await autotuneMatmul(this.gpu, this.cache, options);
    this.tuned = result.tile;
    return result;
  }

  /**
   * Chooses the attention core for this adapter and head width (attention-tune.ts): a stored
   * choice, or a timing of both cores on a short causal stack ('auto': hardware adapters only;
   * false: neither, the rule of `RunOptions.attention` applies). 'auto' runs then use the choice
   * wherever the pattern fits a binding.
   */
  async tuneAttention(dHead: number, options: { store?: TuneStore; tune?: boolean | 'auto'; retune?: boolean } = {}): Promise<AttentionTuneResult> {
    const tune = options.tune ?? 'auto';
    if (tune === false) return { mode: null, source: 'default' };
    const software = this.gpu.adapterInfo.isSoftware;
    const key = attentionKey(adapterKey(this.gpu.adapterInfo), dHead);
    const stored = options.retune ? null : loadAttentionChoice(options.store, key);
    if (stored) {
      this.attentionChoices.set(dHead, stored);
      return { mode: stored, source: 'store' };
    }
    if ((tune === 'auto' && software) || chooseAttentionTile(dHead, this.gpu.limits, software) === null) return { mode: null, source: 'default' };
    const shape = tuneShape(dHead, software);
    const cfg = { layers: 4, heads: shape.heads, dHead, dModel: shape.heads * dHead, seq: shape.seq, context: Math.max(2048, shape.seq), mask: true, cross: false, bias: false, norm: 'none' as const };
    const timeOf = async (attention: AttentionMode) => steadyLayerMs((await this.run(cfg, { attention, seed: 1 })).timings.perLayerMs);
    let materializedMs: number;
    let fusedMs: number;
    try {
      materializedMs = await timeOf('materialized');
      fusedMs = await timeOf('fused');
    } catch (e) {
      // Tuning is an optimisation: a timing that cannot run (memory, limits) leaves the rule.
      if (this.gpu.lostReason) throw e;
      return { mode: null, source: 'default', error: (e as Error).message };
    }
    const mode: AttentionMode = fusedMs < materializedMs ? 'fused' : 'materialized';
    saveAttentionChoice(options.store, key, { mode, shape, materializedMs, fusedMs });
    this.attentionChoices.set(dHead, mode);
    return { mode, source: 'tuned', shape, materializedMs, fusedMs };
  }

  static async create(gpu: GPU, options: DeviceOptions = {}): Promise<Engine> {
    return new Engine(await GpuContext.create(gpu, options));
  }

  get adapter(): AdapterDescription {
    return this.gpu.adapterInfo;
  }

  /** Checks the configuration and inputs and plans memory; throws before any GPU work. */
  plan(config: Partial<AttentionConfig>, options: RunOptions = {}): { cfg: AttentionConfig; plan: MemoryPlan } {
    const cfg = resolveConfig(config);
    const limits: PlanLimits = {
      maxStorageBufferBindingSize: Math.min(this.gpu.limits.maxStorageBufferBindingSize, options.limits?.maxStorageBufferBindingSize ?? Infinity),
      maxBufferSize: Math.min(this.gpu.limits.maxBufferSize, options.limits?.maxBufferSize ?? Infinity),
      minStorageBufferOffsetAlignment: Math.max(this.gpu.limits.minStorageBufferOffsetAlignment, options.limits?.minStorageBufferOffsetAlignment ?? 0),
    };
    const plan = planMemory(cfg, limits, { ...options.plan, attention: this.attentionMode(cfg, limits, options) });
    if (options.inputs) checkInputs(options.inputs, cfg);
    if (options.capturePatterns) {
      const bytes = cfg.layers * cfg.heads * cfg.seq * cfg.contextSeq * 4;
      if (bytes > PATTERN_CAPTURE_LIMIT) {
        throw new InputError(`capturing patterns needs ${formatBytes(bytes)}, over the ${formatBytes(PATTERN_CAPTURE_LIMIT)} allowed: use fewer --layers, --heads or a shorter --seq`);
      }
    }
    return { cfg, plan };
  }

  private attentionMode(cfg: AttentionConfig, limits: PlanLimits, options: RunOptions): AttentionMode {
    const wanted = options.attention ?? 'auto';
    const fusedFits = chooseAttentionTile(cfg.dHead, this.gpu.limits, this.gpu.adapterInfo.isSoftware) !== null;
    if (wanted === 'fused') {
      if (options.capturePatterns) throw new InputError('capturing patterns needs the materialized attention (the fused kernel never stores them): drop --attention fused');
      if (!fusedFits) throw new InputError(`--attention fused: --d-head ${cfg.dHead} fits no fused attention tile on this adapter (at most ${MAX_FUSED_D_HEAD}, within maxComputeWorkgroupStorageSize ${this.gpu.limits.maxComputeWorkgroupStorageSize})`);
      return 'fused';
    }
    if (wanted === 'materialized' || options.capturePatterns || !fusedFits) return 'materialized';
    const patternCap = Math.min(limits.maxStorageBufferBindingSize, options.plan?.patternBytes ?? Infinity);
    if (cfg.seq * cfg.contextSeq * 4 > patternCap) return 'fused';
    // The timed choice (tuneAttention), else: fused on software adapters, where it measured faster
    // (bench/RESULTS.md); materialized on hardware ones until timed there.
    return this.attentionChoices.get(cfg.dHead) ?? (this.gpu.adapterInfo.isSoftware ? 'fused' : 'materialized');
  }

  async run(config: Partial<AttentionConfig>, options: RunOptions = {}): Promise<RunResult> {
    const { cfg, plan } = this.plan(config, options);
    const seed = options.seed ?? 1;
    const weights: WeightSource = options.weights ?? { kind: 'seeded', seed };
    const inputs = options.inputs ?? seededInputs(seed, cfg);
    checkInputs(inputs, cfg);

    const gpu = this.gpu;
    const owned: GPUBuffer[] = [];
    const dispatches: PreparedDispatch[] = [];
    const timer = new PassTimer(gpu, 5 + 3 * plan.headGroups + 16);
    const alloc = (elements: number, label: string) => {
      const buffer = createStorage(gpu, elements, label);
      owned.push(buffer);
      return buffer;
    };
    try {
      const inner = innerWidth(cfg);
      const buffers = await gpu.scoped('allocating buffers', (): LayerBuffers => ({
        x: keep(owned, upload(gpu, inputs.x, 'x')),
        xn: cfg.norm === 'layernorm' ? alloc(cfg.seq * cfg.dModel, 'LN(x)') : null,
        ln: cfg.norm === 'layernorm' ? alloc(2 * cfg.dModel, 'LayerNorm gain and bias') : null,
        context: cfg.cross ? keep(owned, upload(gpu, inputs.context!, 'context')) : null,
        q: alloc(cfg.seq * inner, 'q'),
        k: alloc(cfg.contextSeq * inner, 'k'),
        v: alloc(cfg.contextSeq * inner, 'v'),
        weighted: alloc(cfg.seq * inner, 'weighted sums'),
        pattern: plan.attention === 'materialized' ? alloc(plan.headGroup * cfg.seq * cfg.contextSeq, 'pattern') : null,
        wq: alloc(inner * cfg.dModel, 'W_Q'),
        wk: alloc(inner * cfg.dModel, 'W_K'),
        wv: alloc(inner * cfg.dModel, 'W_V'),
        wo: alloc(cfg.dModel * inner, 'W_O'),
        bias: cfg.bias ? alloc(3 * inner + cfg.dModel, 'biases') : null,
        dummy: alloc(4, 'no bias'),
      }));
      const layerInput = options.keepLayerInput ? alloc(cfg.seq * cfg.dModel, 'layer input') : null;
      const patterns = options.capturePatterns ? alloc(cfg.layers * cfg.heads * cfg.seq * cfg.contextSeq, 'captured patterns') : null;
      // Poison every intermediate: an element a kernel fails to write shows up as NaN.
      for (const buffer of [buffers.xn, buffers.q, buffers.k, buffers.v, buffers.weighted, buffers.pattern]) if (buffer) poison(gpu, buffer);

      const tiles = options.tile ? { tile: options.tile } : { baseTile: this.matmulTile };
      const stages = await gpu.scoped('preparing pipelines', () => prepareLayer(gpu, this.cache, cfg, plan, buffers, tiles));
      for (const s of stages) dispatches.push(...s.dispatches);
      const fills = weights.kind === 'seeded' ? await prepareSeededFills(gpu, this.cache, cfg, buffers, weights.seed) : null;
      if (fills) dispatches.push(...fills.map((f) => f.dispatch));
      const finite = await prepareFiniteCheck(gpu, this.cache, { buffer: buffers.x }, cfg.seq * cfg.dModel);
      dispatches.push(finite.dispatch);

      const flops = layerFlops(cfg);
      const perLayerMs: number[] = [];
      const perLayerStagesMs: StageTimings[] = [];
      const stagesMs = zeroTimings();
      let weightsMs = 0;
      let gpuMs = 0;
      let stopped = false;
      const start = performance.now();
      const probe = (layer: number): LayerProbe => ({
        layer,
        readQ: () => readBack(gpu, buffers.q, cfg.seq * inner),
        readK: () => readBack(gpu, buffers.k, cfg.contextSeq * inner),
        readV: () => readBack(gpu, buffers.v, cfg.contextSeq * inner),
        readWeighted: () => readBack(gpu, buffers.weighted, cfg.seq * inner),
        readNormed: () => {
          if (!buffers.xn) throw new Error('readNormed: this run has no LayerNorm (norm none)');
          return readBack(gpu, buffers.xn, cfg.seq * cfg.dModel);
        },
        readInput: () => {
          if (!layerInput) throw new Error('readInput needs the run option keepLayerInput');
          return readBack(gpu, layerInput, cfg.seq * cfg.dModel);
        },
        readOutput: () => readBack(gpu, buffers.x, cfg.seq * cfg.dModel),
      });

      for (let layer = 0; layer < cfg.layers; layer++) {
        if (options.signal?.aborted) {
          stopped = true;
          break;
        }
        const layerStart = performance.now();
        await gpu.scoped(`layer ${layer}`, async () => {
          if (weights.kind === 'tensors') {
            const t = await weights.layer(layer);
            checkLayerTensors(t, cfg, layer);
            uploadLayer(gpu, buffers, t);
            if (buffers.ln) {
              for (const [name, v] of [['input_layernorm.weight', t.lnGain], ['input_layernorm.bias', t.lnBias]] as const) {
                if (v?.length !== cfg.dModel) throw new InputError(`layer ${layer}: --norm layernorm needs ${name} [${cfg.dModel}], got ${v ? `${v.length} values` : 'none'}`);
              }
              uploadLayerNorm(gpu, buffers.ln, t.lnGain!, t.lnBias!);
            }
          } else {
            for (const f of fills!) f.setLayer(layer);
            if (buffers.ln) {
              const ln = seededLayerNorm(weights.seed, layer, cfg.dModel);
              uploadLayerNorm(gpu, buffers.ln, ln.gain, ln.bias);
            }
          }
          finite.setLayer(layer);
          const encoder = gpu.device.createCommandEncoder({ label: `layer ${layer}` });
          if (fills) {
            const pass = timer.beginPass(encoder, 'weights');
            for (const f of fills) encode(pass, f.dispatch);
            pass.end();
          }
          if (layerInput) encoder.copyBufferToBuffer(buffers.x, 0, layerInput, 0, cfg.seq * cfg.dModel * 4);
          for (const stage of stages) {
            const pass = timer.beginPass(encoder, stage.name);
            for (const d of stage.dispatches) encode(pass, d);
            pass.end();
            if (patterns && stage.name === 'softmax') {
              const perHead = cfg.seq * cfg.contextSeq * 4;
              const at = (layer * cfg.heads + stage.heads!.first) * perHead;
              encoder.copyBufferToBuffer(buffers.pattern!, 0, patterns, at, stage.heads!.count * perHead);
            }
          }
          const check = encoder.beginComputePass({ label: 'finite check' });
          encode(check, finite.dispatch);
          check.end();
          const readTimes = timer.resolve(encoder);
          gpu.device.queue.submit([encoder.finish()]);
          await gpu.drain(`layer ${layer}`);
          let layerMs = performance.now() - layerStart;
          if (readTimes) {
            layerMs = 0;
            const own = zeroTimings();
            for (const { label, ms } of await readTimes()) {
              if (label === 'weights') weightsMs += ms;
              else {
                own[label as keyof StageTimings] += ms;
                stagesMs[label as keyof StageTimings] += ms;
                layerMs += ms;
              }
            }
            perLayerStagesMs.push(own);
          }
          perLayerMs.push(layerMs);
          gpuMs += layerMs;
        });
        await options.onLayer?.(
          { layer, layers: cfg.layers, layerMs: perLayerMs[layer]!, elapsedMs: performance.now() - start, flops: flops.total },
          probe(layer),
        );
      }
      const output = await readBack(gpu, buffers.x, cfg.seq * cfg.dModel);
      const patternsOut = patterns ? splitPatterns(await readBack(gpu, patterns, cfg.layers * cfg.heads * cfg.seq * cfg.contextSeq), cfg) : null;
      const firstBad = new Uint32Array((await readBack(gpu, finite.flag, 1)).buffer)[0]!;
      gpu.check('reading the output');
      const totalMs = performance.now() - start;
      const layersRun = perLayerMs.length;
      return {
        config: cfg,
        adapter: gpu.adapterInfo,
        output,
        patterns: patternsOut,
        layersRun,
        stopped,
        firstNonFiniteLayer: firstBad === ALL_FINITE ? null : firstBad,
        timings: { source: timer.enabled ? 'timestamp-query' : 'wall-clock', totalMs, gpuMs, perLayerMs, perLayerStagesMs, stagesMs, weightsMs },
        flops: { perLayer: flops.total, total: flops.total * layersRun },
        tflops: gpuMs > 0 ? (flops.total * layersRun) / (gpuMs * 1e9) : 0,
        plan,
        peakBytes: owned.reduce((sum, b) => sum + b.size, 0),
        matmulTile: tiles.tile ?? tiles.baseTile,
      };
    } catch (e) {
      if (gpu.lostReason && !(e instanceof GpuError)) throw new GpuError(gpu.lostReason, 'lost');
      throw e;
    } finally {
      release(dispatches);
      timer.destroy();
      for (const b of owned) b.destroy();
    }
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

function uploadLayerNorm(gpu: GpuContext, ln: GPUBuffer, gain: Float32Array, bias: Float32Array): void {
  gpu.device.queue.writeBuffer(ln, 0, gain.buffer, gain.byteOffset, gain.byteLength);
  gpu.device.queue.writeBuffer(ln, gain.byteLength, bias.buffer, bias.byteOffset, bias.byteLength);
}

function keep(owned: GPUBuffer[], b: GPUBuffer): GPUBuffer {
  owned.push(b);
  return b;
}

function splitPatterns(all: Float32Array, cfg: AttentionConfig): Float32Array[][] {
  const perHead = cfg.seq * cfg.contextSeq;
  return Array.from({ length: cfg.layers }, (_, l) =>
    Array.from({ length: cfg.heads }, (_, h) => all.subarray((l * cfg.heads + h) * perHead, (l * cfg.heads + h + 1) * perHead)),
  );
}
