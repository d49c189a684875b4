// A decode session: attention as inference runs it. One prefill runs the prompt through every
// layer (Engine.run) and leaves each layer's keys and values in the KV cache; then each step runs
// ONE new token through every layer: its query, key and value, the key and value appended to the
// cache, its query against every cached key and value (the decode kernel), the output projection
// and the MLP. A step reads each layer's weights and the n cached rows of K and V, and computes
// nothing for the earlier tokens again: that is what the cache is for.
//
//   const session = await Session.open(engine, config, { model: { tensors, tokens } });
//   const prefill = await session.prefill();            // RunResult: logits of the last prompt token
//   const step = await session.step(tokenId);           // DecodeStep: logits of the new token, timing
//   session.destroy();
//
// With a model the step's input is a token id (its embedding and position computed on the CPU,
// x = token row + position row, as shaders/embed.wgsl adds them); without one, the caller gives the
// new row of x (generate() uses the seeded input sequence's next row, seededStepRow).
// The page and the CLI both use this (and generate() of ./generate.ts); nothing here needs Node.

import { innerWidth, type AttentionConfig } from './config.js';
import { DecodeLayers, stepConfig, stepPlan } from './decode-layer.js';
import type { Engine } from './engine.js';
import { KvCache } from './kv-cache.js';
import { loadLayerWeights } from './layer-source.js';
import { ModelEnds } from './model-ends.js';
import { layerWeightBytes, type MemoryPlan, type PlanLimits } from './plan.js';
import type { RunOptions, RunResult } from './run-types.js';
import { seededArray, STREAM_INPUT, streamKey } from './seeded.js';
import type { ModelTensors, WeightSource } from './weights.js';
import { readBack } from '../gpu/buffers.js';
import { GpuError, InputError, OutOfMemoryError } from '../gpu/errors.js';
import { dispatchOnce, encode, firstUse } from '../gpu/dispatch.js';
import type { MatmulTile } from '../kernels/matmul.js';
import { bytesPer } from '../gpu/precision.js';
import { roundToF16 } from '../io/half.js';
import { DecodeChecker, type DecodeLayerCheck } from '../verify/decode.js';
import { checkEmbedding, checkLogits, type EndCheck } from '../verify/model-ends.js';

/** Errors planted on purpose (tests): what a wrong decode path would do at one step and layer. */
export interface DecodePlant {
  /**
   * stale-row: the append copied before this step's projections ran (the cache gets the k/v
   * buffers' previous contents); shifted-row: the new row appended one row late (row t + 1);
   * off-by-one: the decode attention told n − 1 keys; missed-append: no append at all.
   */
  kind: 'stale-row' | 'shifted-row' | 'off-by-one' | 'missed-append';
  step: number;
  layer: number;
}

export interface SessionOptions extends Omit<RunOptions, 'kvCache' | 'inputs'> {
  /** The prompt's x [seq, dModel] (and context) when neither a model nor seeded inputs are wanted. */
  inputs?: RunOptions['inputs'];
  /**
   * Each step's attention output against float64 (src/verify/decode.ts): 'exact' every layer and
   * head, 'sampled' the layers in `verifyLayers` (default all) and a few heads, 'none' (default).
   */
  verify?: 'exact' | 'sampled' | 'none';
  verifyLayers?: ReadonlySet<number>;
  /** Picks a sampled check's heads. */
  verifySeed?: number;
  /** Each step's pattern row per layer and head (softmax of the GPU's q against the keys, on the CPU). */
  patternRows?: boolean;
  /** Each step's residual row before every layer and after the last (DecodeStep.layerRows): layer-local checks of the whole step. */
  keepLayerRows?: boolean;
  plant?: DecodePlant;
  /**
   * Every layer's weights stay on the GPU for the steps (loaded once) when they take at most this
   * many bytes (default DEFAULT_RESIDENT_BYTES); beyond it each step streams them in, one layer at a
   * time, as the prefill does.
   */
  residentWeightBytes?: number;
}

/**
 * The plan of a session: the prefill's buffers, the KV cache and the step's weights, every layer's
 * when they fit `residentWeightBytes` and the plan's memory (plan.memoryBytes), else one layer's
 * (streamed). Refused in numbers (OutOfMemoryError, InputError) when even that does not fit.
 */
export function planSession(engine: Engine, config: Partial<AttentionConfig>, options: SessionOptions): { cfg: AttentionConfig; plan: MemoryPlan; resident: boolean } {
  const first = engine.plan(config, { ...options, plan: { ...options.plan, kvCache: true, decodeWeightSets: 1 } });
  if (!residentWeights(first.cfg, options)) return { ...first, resident: false };
  try {
    return { ...engine.plan(first.cfg, { ...options, plan: { ...options.plan, kvCache: true, decodeWeightSets: first.cfg.layers } }), resident: true };
  } catch (e) {
    if (e instanceof OutOfMemoryError) return { ...first, resident: false };
    throw e;
  }
}

/** Whether every layer's weights stay on the GPU for the steps: they fit options.residentWeightBytes. */
export const residentWeights = (cfg: AttentionConfig, options: Pick<SessionOptions, 'residentWeightBytes'>): boolean =>
  cfg.layers * layerWeightBytes(cfg) <= (options.residentWeightBytes ?? DEFAULT_RESIDENT_BYTES);

/** 1 GiB: GPT-2 small's layers (85 M parameters, 340 MB in f32) stay resident; GPT-3's (700 GB) are streamed. */
export const DEFAULT_RESIDENT_BYTES = 2 ** 30;

export interface DecodeStep {
  /** 0-based. */
  step: number;
  /** The new token's position in the sequence (the prompt's tokens are 0 … seq − 1). */
  position: number;
  /** Keys and values the new token's query attended in every layer. */
  n: number;
  /** Wall-clock milliseconds of the step's GPU work, weights streamed in included, checks and their read-backs excluded. */
  ms: number;
  /** Milliseconds reading back and checking (0 without verification or pattern rows). */
  verifyMs: number;
  /** The token fed (model sessions), else null. */
  token: number | null;
  /** The residual stream of the new token after the last layer [dModel]. */
  output: Float32Array;
  /** The next-token logits [vocab] (model sessions), else null. */
  logits: Float32Array | null;
  /** Every checked layer's verdict (verify exact or sampled). */
  checks: DecodeLayerCheck[];
  /** Model sessions with verification: the new token's embedding row and the step's logits against float64. */
  endChecks: EndCheck[];
  /** [layer][head][n] with `patternRows`, else null. */
  patternRows: Float32Array[][] | null;
  /** With keepLayerRows: [layers + 1][dModel], x before layer l at l and the output at layers; else null. */
  layerRows: Float32Array[] | null;
  /** Bytes the step read: every layer's weights, the cached K and V of n rows (and the unembedding). */
  bytes: number;
}

/** The seeded input sequence's row `position` [dModel]: a seeded session's step input (as a longer prompt would have it). */
export const seededStepRow = (seed: number, position: number, dModel: number): Float32Array =>
  seededArray(streamKey(seed, STREAM_INPUT), dModel, 1, position * dModel);

export class Session {
  private prefilled = false;
  private position = 0;
  private steps = 0;
  private readonly checker: DecodeChecker | null;

  private constructor(private readonly engine: Engine, readonly config: AttentionConfig, readonly plan: MemoryPlan,
    private readonly options: SessionOptions, private readonly weights: WeightSource, readonly cache: KvCache,
    private readonly layers: DecodeLayers, private readonly ends: ModelEnds | null) {
    const mode = options.verify ?? 'none';
    const wantsCheck = mode !== 'none' || options.patternRows === true;
    const all = new Set(Array.from({ length: config.layers }, (_, l) => l));
    this.checker = !wantsCheck ? null : mode === 'sampled' && !options.patternRows
      ? new DecodeChecker(config, 'sampled', options.verifyLayers ?? all, DecodeChecker.sampledHeads(config.heads, options.verifySeed ?? 1))
      : new DecodeChecker(config, 'exact', all);
  }

  /**
   * Checks the configuration (the KV cache counted in the memory plan, refused in numbers when it
   * does not fit), allocates the cache and the one-row buffers and prepares the step's pipelines.
   * Throws before any GPU work on bad input.
   */
  static async open(engine: Engine, config: Partial<AttentionConfig>, options: SessionOptions = {}): Promise<Session> {
    const { cfg, plan, resident } = planSession(engine, config, options);
    const mode = options.verify ?? 'none';
    if (mode !== 'exact' && mode !== 'sampled' && mode !== 'none') throw new InputError(`decode verification must be exact, sampled or none, got '${String(mode)}'`);
    const gpu = engine.gpu;
    const limits: PlanLimits = {
      maxStorageBufferBindingSize: Math.min(gpu.limits.maxStorageBufferBindingSize, options.limits?.maxStorageBufferBindingSize ?? Infinity),
      maxBufferSize: Math.min(gpu.limits.maxBufferSize, options.limits?.maxBufferSize ?? Infinity),
      minStorageBufferOffsetAlignment: Math.max(gpu.limits.minStorageBufferOffsetAlignment, options.limits?.minStorageBufferOffsetAlignment ?? 0),
    };
    const model = options.model;
    const one = stepPlan(cfg, limits, model ? {
      vocab: model.tensors.vocab, positionRows: model.tensors.positionEmbedding.length / cfg.dModel, tiedUnembedding: model.tensors.unembedding === model.tensors.tokenEmbedding,
    } : undefined);
    const weights: WeightSource = options.weights ?? { kind: 'seeded', seed: options.seed ?? 1 };
    const tiles: { tile: MatmulTile } | { baseTile: MatmulTile } = options.tile ? { tile: options.tile } : { baseTile: engine.matmulTileFor(cfg.precision) };
    let cache: KvCache | null = null;
    let layers: DecodeLayers | null = null;
    let ends: ModelEnds | null = null;
    try {
      cache = await gpu.scoped('allocating the KV cache', () => new KvCache(gpu, cfg));
      const kv = cache;
      const l = await gpu.scoped('allocating the decode buffers', () => new DecodeLayers(gpu, cfg, one, resident));
      layers = l;
      await gpu.scoped('preparing the decode step', () => l.prepare(engine.cache, kv, tiles, weights.kind === 'seeded' ? weights.seed : null));
      if (model) {
        ends = await gpu.scoped('uploading the model tables for decoding', () => new ModelEnds(gpu, stepConfig(cfg), l.buffers.x, { tensors: model.tensors, tokens: new Uint32Array(1) }));
        const e = ends;
        await gpu.scoped('preparing the decode logits', () => e.prepare(engine.cache, one, tiles));
      }
      // Each pipeline's first dispatch now, not in step 0 (compilation on lazily compiling drivers).
      // All are harmless here: the residual adds (output, MLP down) write the step's x, which every
      // step overwrites with its input row first; the rest rewrite what they write before it is read.
      await gpu.scoped('first use of the decode pipelines', () => firstUse(gpu, 'first use of the decode pipelines', [
        ...l.sets.flatMap((set) => [...(set.fills ?? []).map((f) => f.dispatch), ...set.before.flatMap((st) => st.dispatches), ...set.after.flatMap((st) => st.dispatches)]),
        ...l.cores.flatMap((c) => c.dispatches), ...(ends?.final ?? []),
      ]));
      // Resident weights: every layer's loaded (generated or uploaded) once, here.
      for (let layer = 0; resident && layer < cfg.layers; layer++) {
        const set = l.set(layer);
        await gpu.scoped(`loading layer ${layer}'s weights for decoding`, async () => {
          await loadLayerWeights(gpu, stepConfig(cfg), set.buffers, weights, set.fills, layer);
          if (set.fills) await dispatchOnce(gpu, `generating layer ${layer}'s weights for decoding`, set.fills.map((f) => f.dispatch));
        });
      }
      return new Session(engine, cfg, plan, options, weights, kv, l, ends);
    } catch (e) {
      ends?.destroy();
      layers?.destroy();
      cache?.destroy();
      if (gpu.lostReason && !(e instanceof GpuError)) throw new GpuError(gpu.lostReason, 'lost');
      throw e;
    }
  }

  /** Whether every layer's weights stay on the GPU for the steps (else streamed each step). */
  get residentWeights(): boolean {
    return this.layers.resident;
  }

  /** The position the next step's token takes (the tokens so far). */
  get length(): number {
    return this.position;
  }

  /** Steps the cache still has room for (cross-attention: unbounded by the cache). */
  get room(): number {
    return this.config.cross ? Infinity : this.cache.rows - this.position;
  }

  /** The prompt through every layer (Engine.run), each layer's k and v written into the cache. */
  async prefill(): Promise<RunResult> {
    if (this.prefilled) throw new InputError('this session has run its prefill already');
    const cfg = this.config;
    const checker = this.checker;
    const onLayer = this.options.onLayer;
    const result = await this.engine.run(cfg, {
      ...this.options, weights: this.weights, kvCache: this.cache,
      onLayer: async (progress, probe) => {
        if (checker?.wants(progress.layer)) checker.addRows(progress.layer, await probe.readK(), await probe.readV(), cfg.kvSeq);
        await onLayer?.(progress, probe);
      },
    });
    this.prefilled = !result.stopped;
    this.position = cfg.seq;
    return result;
  }

  /**
   * One token through every layer: `input` is a token id (model sessions) or the new row of x
   * [dModel]. Refuses, before any GPU work, a full cache or a position the model has no row for.
   */
  async step(input: number | Float32Array): Promise<DecodeStep> {
    if (!this.prefilled) throw new InputError('decode steps need a prefill that ran to its end first (Session.prefill)');
    const { config: cfg, layers, cache, checker, engine } = this;
    const gpu = engine.gpu;
    const b = layers.buffers;
    const t = this.position;
    const step = this.steps;
    if (!cfg.cross && t >= cache.rows) throw new InputError(`the KV cache is full: ${cache.rows} rows (--max-seq ${cfg.maxSeq}); no room for position ${t}`);
    const row = this.inputRow(input, t);
    const n = cfg.cross ? cfg.kvSeq : t + 1;
    const plant = this.options.plant?.step === step ? this.options.plant : undefined;
    const p = cfg.precision;
    const inner = innerWidth(cfg);
    const checks: DecodeLayerCheck[] = [];
    const patternRows: Float32Array[][] | null = this.options.patternRows ? [] : null;
    const layerRows: Float32Array[] | null = this.options.keepLayerRows ? [row] : null;
    let verifyMs = 0;
    const start = performance.now();
    try {
      gpu.device.queue.writeBuffer(b.x, 0, row.buffer, row.byteOffset, row.byteLength);
      /** Layer l's commands: (streamed) its weights, the stages before the attention, the append, the decode kernel, the rest. */
      const encodeLayer = (encoder: GPUCommandEncoder, l: number) => {
        const planted = plant?.layer === l ? plant.kind : null;
        const set = layers.set(l);
        const core = layers.cores[l]!;
        core.setLength(planted === 'off-by-one' ? (n > 1 ? n - 1 : n + 1) : n);
        const pass = (label: string, body: (pass: GPUComputePassEncoder) => void) => {
          const c = encoder.beginComputePass({ label });
          body(c);
          c.end();
        };
        if (!layers.resident && set.fills) pass('weights', (c) => set.fills!.forEach((f) => encode(c, f.dispatch)));
        const append = (at: number) => cache.encodeRow(encoder, l, b.k, b.v, 0, at);
        if (!cfg.cross && planted === 'stale-row') append(t);
        for (const s of set.before) pass(s.name, (c) => s.dispatches.forEach((d) => encode(c, d)));
        if (!cfg.cross && (planted === null || planted === 'off-by-one')) append(t);
        if (!cfg.cross && planted === 'shifted-row') append(t + 1 < cache.rows ? t + 1 : t - 1);
        pass('decode attention', (c) => core.dispatches.forEach((d) => encode(c, d)));
        for (const s of set.after) pass(s.name, (c) => s.dispatches.forEach((d) => encode(c, d)));
      };
      // Resident weights and nothing to read between layers: the whole step in one command buffer
      // (each layer's decode plan has its own uniforms, all written before the submit).
      const oneBuffer = layers.resident && !checker && !layerRows;
      if (oneBuffer) {
        await gpu.scoped(`decode step ${step}`, () => {
          const encoder = gpu.device.createCommandEncoder({ label: `decode step ${step}` });
          for (let l = 0; l < cfg.layers; l++) encodeLayer(encoder, l);
          gpu.device.queue.submit([encoder.finish()]);
        });
      }
      for (let l = 0; !oneBuffer && l < cfg.layers; l++) {
        await gpu.scoped(`decode step ${step} layer ${l}`, async () => {
          const set = layers.set(l);
          if (!layers.resident) await loadLayerWeights(gpu, stepConfig(cfg), set.buffers, this.weights, set.fills, l);
          const encoder = gpu.device.createCommandEncoder({ label: `decode step ${step} layer ${l}` });
          encodeLayer(encoder, l);
          gpu.device.queue.submit([encoder.finish()]);
        });
        if (checker?.wants(l)) {
          const checkStart = performance.now();
          const [q, k, v, weighted] = await Promise.all([readBack(gpu, b.q, inner, 0, p), readBack(gpu, b.k, inner, 0, p), readBack(gpu, b.v, inner, 0, p), readBack(gpu, b.weighted, inner, 0, p)]);
          if (!cfg.cross) checker.addRows(l, k, v, 1);
          if ((this.options.verify ?? 'none') !== 'none') checks.push(checker.check(step, l, q, weighted));
          patternRows?.push(checker.patternRows(l, q));
          verifyMs += performance.now() - checkStart;
        }
        if (layerRows) {
          const readStart = performance.now();
          layerRows.push(await readBack(gpu, b.x, cfg.dModel));
          verifyMs += performance.now() - readStart;
        }
      }
      let logits: Float32Array | null = null;
      const ends = this.ends;
      if (ends) {
        logits = await gpu.scoped(`decode step ${step} logits`, async () => {
          const encoder = gpu.device.createCommandEncoder({ label: `decode step ${step} logits` });
          ends.encodeFinal(encoder);
          gpu.device.queue.submit([encoder.finish()]);
          return ends.readLogits();
        });
      }
      const output = await readBack(gpu, b.x, cfg.dModel);
      gpu.check(`decode step ${step}`);
      const ms = performance.now() - start - verifyMs;
      // Both ends of a model's step, as the prefill's are checked (src/verify/model-ends.ts).
      const endChecks: EndCheck[] = [];
      const model = this.options.model;
      if (model && logits && (this.options.verify ?? 'none') !== 'none') {
        const one = stepConfig(cfg);
        const checkStart = performance.now();
        endChecks.push(checkEmbedding(one, model.tensors, Uint32Array.of(input as number), row, t), checkLogits(one, model.tensors, output, logits));
        verifyMs += performance.now() - checkStart;
      }
      this.position++;
      this.steps++;
      return {
        step, position: t, n, ms, verifyMs, token: typeof input === 'number' ? input : null, output, logits, checks, endChecks, patternRows, layerRows, bytes: this.stepBytes(n),
      };
    } catch (e) {
      if (gpu.lostReason && !(e instanceof GpuError)) throw new GpuError(gpu.lostReason, 'lost');
      throw e;
    }
  }

  /**
   * What one step reads from memory at n keys: each layer's weights (streamed in or generated),
   * the n cached rows of K and V of every head, and with a model the unembedding.
   */
  stepBytes(n: number): number {
    const c = this.config;
    const F = bytesPer(c.precision);
    const inner = innerWidth(c);
    const weights = 4 * inner * c.dModel + (c.bias ? 3 * inner + c.dModel : 0) + (c.block === 'full' ? 2 * c.ffn * c.dModel + c.ffn + c.dModel : 0);
    const kv = 2 * c.heads * n * c.dHead;
    const vocab = this.options.model ? this.options.model.tensors.vocab * c.dModel : 0;
    return F * (c.layers * (weights + kv) + vocab);
  }

  /** The new row of x: a token's embedding at `position` (model), or the row given. */
  private inputRow(input: number | Float32Array, position: number): Float32Array {
    const cfg = this.config;
    const model = this.options.model;
    if (!model) {
      if (!(input instanceof Float32Array) || input.length !== cfg.dModel) throw new InputError(`a decode step without a model takes the new row of x: a Float32Array of --d-model ${cfg.dModel} values`);
      for (let i = 0; i < input.length; i++) if (!Number.isFinite(input[i]!)) throw new InputError(`the new row of x holds ${input[i]} at index ${i}: inputs must be finite`);
      return input;
    }
    return embedRow(model.tensors, input, position, cfg);
  }

  destroy(): void {
    this.ends?.destroy();
    this.layers.destroy();
    this.cache.destroy();
  }
}

/**
 * x = token embedding row + position row (position + the table's offset), as shaders/embed.wgsl
 * computes it: one f32 add of the stored values (f16-rounded with f16 precision).
 */
export function embedRow(t: ModelTensors, token: number | Float32Array, position: number, cfg: AttentionConfig): Float32Array {
  if (typeof token !== 'number' || !Number.isInteger(token) || token < 0 || token >= t.vocab) {
    throw new InputError(`a decode step of a model takes a token id below the vocabulary size ${t.vocab}, got ${String(token)}`);
  }
  const D = cfg.dModel;
  const rows = t.positionEmbedding.length / D;
  if (position + t.positionOffset >= rows) {
    throw new InputError(`position ${position} needs position row ${position + t.positionOffset}, but the model has ${rows}: at most ${rows - t.positionOffset} tokens`);
  }
  const stored = cfg.precision === 'f16' ? roundToF16 : (x: number) => x;
  const out = new Float32Array(D);
  for (let d = 0; d < D; d++) out[d] = stored(t.tokenEmbedding[token * D + d]!) + stored(t.positionEmbedding[(position + t.positionOffset) * D + d]!);
  return out;
}
