// One decode step of one layer as GPU dispatches: the layer of ./layer.ts for a single row (LN1,
// q/k/v of the new token, then the output projection into the residual and, with block 'full', the
// MLP), with the attention core replaced by the KV cache's append and the decode kernel
// (src/kernels/decode.ts, split over key blocks and merged): the new token's query against the
// first n cached rows of every head,
//   xn = LN1(x_t);  q_t, k_t, v_t = xn·W_Q/K/Vᵀ;  K[t] = k_t, V[t] = v_t;
//   A_t = softmax(q_t·K[0..n)ᵀ/√dHead)·V[0..n)   (n = t + 1: causal by construction)
//   x_t += A_t·W_Oᵀ;  x_t += MLP(LN2(x_t))
// Cross-attention: no key/value projection and no append; the cache holds the context's K and V,
// computed once by the prefill, and n is the context's length.
// The one-row activations are shared by every layer. The weights are resident (every layer's on the
// GPU, loaded once when the session opens: a step then reads them and uploads nothing) when they fit
// the session's budget, else streamed as in the prefill (one layer's on the GPU at a time, generated
// or uploaded again each step). Each layer has its own decode core, bound to that layer's cache.

import { innerWidth, type AttentionConfig } from './config.js';
import type { KvCache } from './kv-cache.js';
import { prepareLayer, type LayerBuffers, type Stage } from './layer.js';
import { planMemory, type MemoryPlan, type PlanLimits, type PlanOptions } from './plan.js';
import { createStorage, poison } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { prepareDecode, type DecodePlan } from '../kernels/decode.js';
import { release } from '../gpu/dispatch.js';
import type { MatmulTile } from '../kernels/matmul.js';
import type { Precision } from '../gpu/precision.js';
import { prepareSeededFills, type SeededFill } from './layer-weights.js';
import { allocateLayerWeights } from './weight-buffers.js';

/** The configuration of one decode row: seq 1 (and kvSeq 1: the keys come from the cache). */
export const stepConfig = (cfg: AttentionConfig): AttentionConfig => ({ ...cfg, seq: 1, kvSeq: 1 });

/** The memory plan of the one-row layer (weight chunks, the model's table chunks). */
export const stepPlan = (cfg: AttentionConfig, limits: PlanLimits, model?: PlanOptions['model']): MemoryPlan =>
  planMemory(stepConfig(cfg), limits, { attention: 'fused', model });

/** One set of weights with the stages bound to it (and, seeded, the fills that generate them). */
export interface WeightSet {
  buffers: LayerBuffers;
  /** Stages before the attention (norm, qkv) and after it (output, MLP). */
  before: Stage[];
  after: Stage[];
  fills: SeededFill[] | null;
}

export class DecodeLayers {
  /** The shared one-row activations (x, LN(x), q, k, v, weighted sums, MLP): every set's buffers hold these. */
  readonly buffers: LayerBuffers;
  /** One per layer (resident) or one for all (streamed). */
  sets: WeightSet[] = [];
  /** One decode plan per layer, each bound to its layer's cache (setLength per step). */
  cores: DecodePlan[] = [];
  private readonly owned: GPUBuffer[] = [];

  /** `plan`: stepPlan's, the one-row layer's chunks; `resident`: every layer's weights kept on the GPU. */
  constructor(private readonly gpu: GpuContext, readonly cfg: AttentionConfig, readonly plan: MemoryPlan, readonly resident: boolean) {
    const inner = innerWidth(cfg);
    const p = cfg.precision;
    const alloc = (elements: number, label: string, precision: Precision = 'f32') => {
      const b = createStorage(gpu, elements, `decode ${label}`, precision);
      this.owned.push(b);
      return b;
    };
    const ln = cfg.norm === 'layernorm';
    const mlp = cfg.block === 'full';
    const shared = {
      x: alloc(cfg.dModel, 'x'),
      xn: ln ? alloc(cfg.dModel, 'LN(x)', p) : null,
      q: alloc(inner, 'q', p),
      k: alloc(inner, 'k', p),
      v: alloc(inner, 'v', p),
      weighted: alloc(inner, 'weighted sums', p),
      mlpXn: mlp ? alloc(cfg.dModel, 'LN2(x)', p) : null,
      hidden: mlp ? alloc(cfg.ffn, 'MLP hidden', p) : null,
    };
    const weightsOf = (l: string): LayerBuffers => {
      const weights = allocateLayerWeights(cfg, alloc, l);
      return {
        ...weights,
        x: shared.x, context: null, xn: shared.xn, q: shared.q, k: shared.k, v: shared.v, weighted: shared.weighted, pattern: null,
        mlp: weights.mlp && { ...weights.mlp, xn: shared.mlpXn!, hidden: shared.hidden! },
      };
    };
    const count = resident ? cfg.layers : 1;
    const list = Array.from({ length: count }, (_, l) => weightsOf(resident ? `layer ${l} ` : ''));
    this.buffers = list[0]!;
    this.sets = list.map((buffers) => ({ buffers, before: [], after: [], fills: null }));
    for (const buffer of [shared.x, shared.xn, shared.q, shared.k, shared.v, shared.weighted, shared.mlpXn, shared.hidden]) {
      if (buffer) poison(gpu, buffer, undefined, buffer === shared.x ? 'f32' : p);
    }
  }

  get bytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  /** The set layer l runs with. */
  set(layer: number): WeightSet {
    return this.sets[this.resident ? layer : 0]!;
  }

  /** Pipelines and bind groups: each set's stages (and seeded fills), a decode core per layer. */
  async prepare(cache: PipelineCache, kv: KvCache, tiles: { tile: MatmulTile } | { baseTile: MatmulTile }, seed: number | null): Promise<void> {
    const { gpu, cfg } = this;
    const one = stepConfig(cfg);
    for (const set of this.sets) {
      const stages = await prepareLayer(gpu, cache, one, this.plan, set.buffers, tiles, { attention: false, keyValue: !cfg.cross });
      const at = stages.findIndex((s) => s.name === 'output');
      set.before = stages.slice(0, at);
      set.after = stages.slice(at);
      if (seed !== null) set.fills = await prepareSeededFills(gpu, cache, one, set.buffers, seed);
    }
    const n = cfg.cross ? cfg.kvSeq : 1;
    for (let l = 0; l < cfg.layers; l++) {
      this.cores.push(await prepareDecode(gpu, cache, {
        label: `decode attention layer ${l}`, q: this.buffers.q, kCache: kv.k[l]!, vCache: kv.v[l]!, out: this.buffers.weighted,
        heads: cfg.heads, dHead: cfg.dHead, maxSeq: kv.rows, n, precision: cfg.precision,
      }));
    }
  }

  /** Every stage's and fill's dispatches (release); the decode plans own theirs. */
  get dispatches() {
    return this.sets.flatMap((s) => [...s.before, ...s.after].flatMap((st) => st.dispatches).concat((s.fills ?? []).map((f) => f.dispatch)));
  }

  destroy(): void {
    release(this.dispatches);
    this.sets = [];
    for (const c of this.cores) c.destroy();
    this.cores = [];
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
