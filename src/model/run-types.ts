// What `Engine.run` takes and gives: its options, its per-layer progress and its result.

import type { AttentionConfig } from './config.js';
import type { AttentionRequest } from './attention-choice.js';
import type { MemoryPlan, PlanLimits, PlanOptions } from './plan.js';
import type { LayerProbe } from './run-buffers.js';
import type { StageTimings } from './stage-times.js';
import type { Inputs, ModelTensors, WeightSource } from './weights.js';
import type { KvCache } from './kv-cache.js';
import type { AdapterDescription } from '../gpu/device.js';
import type { MatmulTile } from '../kernels/matmul.js';

export interface LayerProgress {
  layer: number;
  layers: number;
  /** GPU time of this layer (timestamps), or wall time of its drained queue. */
  layerMs: number;
  elapsedMs: number;
  flops: number;
}

export interface RunOptions {
  /** Default: seeded from `seed`. */
  weights?: WeightSource;
  /** Storage precision ('f16' needs shader-f16); overrides the config's (AttentionConfig.precision). */
  precision?: AttentionConfig['precision'];
  /** Default: seeded from `seed`. */
  inputs?: Inputs;
  /**
   * A whole model: x = tokenEmbedding[tok] + positionEmbedding[pos + positionOffset] on the GPU
   * (cfg.seq must equal tokens.length; `inputs` must not be given), and after the last layer the
   * final LayerNorm of the last position and logits = unembedding · LN_f(x_last).
   */
  model?: { tensors: ModelTensors; tokens: Uint32Array };
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
   * see chooseAttention (attention-choice.ts).
   */
  attention?: AttentionRequest;
  /** Read back every head's pattern of every layer (small configurations: the browser's heatmaps). */
  capturePatterns?: boolean;
  /** Keep each layer's input so probes can read it (layer-local verification, exact or sampled). */
  keepLayerInput?: boolean;
  onLayer?: (progress: LayerProgress, probe: LayerProbe) => void | Promise<void>;
  /** Stops after the current layer (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * A decode session's KV cache (src/model/session.ts): each layer's k and v are copied into it
   * in the layer's own command buffer. Owned by the caller; the run only writes it.
   */
  kvCache?: KvCache;
}

export interface RunResult {
  config: AttentionConfig;
  adapter: AdapterDescription;
  output: Float32Array;
  /** x before layer 0 [seq, dModel] (model runs), else null. */
  embedded: Float32Array | null;
  /** [vocab] of the last position (model runs), else null. */
  logits: Float32Array | null;
  /** [layers][heads][seq·kvSeq] when capturePatterns was set. */
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
    /**
     * A model run's ends, apart from the layers (null without RunOptions.model): the embedding and the final
     * LayerNorm with the last token's logits, each from its submission until its result was read back (wall clock:
     * they run outside the layers' timed passes); logits null when the stack stopped before its end.
     */
    modelEndsMs: { embedding: number; logits: number | null } | null;
  };
  flops: { perLayer: number; total: number };
  tflops: number;
  plan: MemoryPlan;
  peakBytes: number;
  /** The matmul tile config: the one given, or the engine's that each product's shape was fitted from. */
  matmulTile: MatmulTile;
  /**
   * Pipelines this run created (the cache's others were reused) and the milliseconds spent
   * preparing them, before the first layer: apart from GPU time. `firstUseMs`: one workgroup of
   * each pipeline's first dispatch, run after that and before the first layer, because drivers
   * that compile lazily (lavapipe) compile machine code at a pipeline's first dispatch; it also
   * holds WebGPU's zeroing of each buffer those dispatches touch for the first time.
   */
  compile: { pipelines: number; ms: number; firstUseMs: number };
  /** Dispatches encoded per layer (one command buffer, one submit per layer). */
  dispatchesPerLayer: number;
}

