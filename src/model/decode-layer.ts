// One decode step of one layer as GPU dispatches: the layer of ./layer.ts for a single row (LN1,
// q/k/v of the new token, then the output projection into the residual and, with block 'full', the
// MLP), with the attention core replaced by the KV cache's append and the decode core
// (./decode-core.ts): the new token's query against the first n cached rows of every head,
//   xn = LN1(x_t);  q_t, k_t, v_t = xn·W_Q/K/Vᵀ;  K[t] = k_t, V[t] = v_t;
//   A_t = softmax(q_t·K[0..n)ᵀ/√dHead)·V[0..n)   (n = t + 1: causal by construction)
//   x_t += A_t·W_Oᵀ;  x_t += MLP(LN2(x_t))
// Cross-attention: no key/value projection and no append; the cache holds the context's K and V,
// computed once by the prefill, and n is the context's length.
// The one-row buffers are shared by every layer (one layer's weights on the GPU at a time, as in
// the prefill); each layer has its own decode plan, bound to that layer's cache.

import { innerWidth, type AttentionConfig } from './config.js';
import type { KvCache } from './kv-cache.js';
import { prepareLayer, type LayerBuffers, type Stage } from './layer.js';
import { planMemory, type MemoryPlan, type PlanLimits, type PlanOptions } from './plan.js';
import { prepareDecodeCore, type DecodeCore } from './decode-core.js';
import { createStorage, poison } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { release } from '../kernels/dispatch.js';
import type { MatmulTile } from '../kernels/matmul.js';
import type { Precision } from '../kernels/precision.js';

/** The configuration of one decode row: seq 1 (and kvSeq 1: the keys come from the cache). */
export const stepConfig = (cfg: AttentionConfig): AttentionConfig => ({ ...cfg, seq: 1, kvSeq: 1 });

/** The memory plan of the one-row layer (weight chunks, the model's table chunks). */
export const stepPlan = (cfg: AttentionConfig, limits: PlanLimits, model?: PlanOptions['model']): MemoryPlan =>
  planMemory(stepConfig(cfg), limits, { attention: 'fused', model });

export class DecodeLayers {
  readonly buffers: LayerBuffers;
  /** Stages before the attention (norm, qkv) and after it (output, MLP). */
  before: Stage[] = [];
  after: Stage[] = [];
  /** One decode plan per layer, each bound to its layer's cache. */
  cores: DecodeCore[] = [];
  private readonly owned: GPUBuffer[] = [];

  /** `plan`: stepPlan's, the one-row layer's chunks. */
  constructor(private readonly gpu: GpuContext, readonly cfg: AttentionConfig, readonly plan: MemoryPlan) {
    const inner = innerWidth(cfg);
    const p = cfg.precision;
    const alloc = (elements: number, label: string, precision: Precision = 'f32') => {
      const b = createStorage(gpu, elements, `decode ${label}`, precision);
      this.owned.push(b);
      return b;
    };
    const ln = cfg.norm === 'layernorm';
    this.buffers = {
      x: alloc(cfg.dModel, 'x'),
      context: null,
      xn: ln ? alloc(cfg.dModel, 'LN(x)', p) : null,
      ln: ln ? alloc(2 * cfg.dModel, 'LayerNorm gain and bias') : null,
      q: alloc(inner, 'q', p),
      k: alloc(inner, 'k', p),
      v: alloc(inner, 'v', p),
      weighted: alloc(inner, 'weighted sums', p),
      pattern: null,
      wq: alloc(inner * cfg.dModel, 'W_Q', p),
      wk: alloc(inner * cfg.dModel, 'W_K', p),
      wv: alloc(inner * cfg.dModel, 'W_V', p),
      wo: alloc(cfg.dModel * inner, 'W_O', p),
      bias: cfg.bias ? alloc(3 * inner + cfg.dModel, 'biases', p) : null,
      mlp: cfg.block !== 'full' ? null : {
        xn: alloc(cfg.dModel, 'LN2(x)', p),
        ln: alloc(2 * cfg.dModel, 'LN2 gain and bias'),
        hidden: alloc(cfg.ffn, 'MLP hidden', p),
        fc1: alloc(cfg.ffn * cfg.dModel, 'fc1', p),
        fc2: alloc(cfg.dModel * cfg.ffn, 'fc2', p),
        b1: alloc(cfg.ffn, 'fc1 bias', p),
        b2: alloc(cfg.dModel, 'fc2 bias', p),
      },
    };
    const b = this.buffers;
    for (const buffer of [b.x, b.xn, b.q, b.k, b.v, b.weighted, b.mlp?.xn, b.mlp?.hidden]) if (buffer) poison(gpu, buffer, undefined, buffer === b.x ? 'f32' : p);
  }

  get bytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  /** Pipelines and bind groups: the layer's stages once, a decode plan per layer. */
  async prepare(cache: PipelineCache, kv: KvCache, tiles: { tile: MatmulTile } | { baseTile: MatmulTile }): Promise<void> {
    const { gpu, cfg } = this;
    const stages = await prepareLayer(gpu, cache, stepConfig(cfg), this.plan, this.buffers, tiles, { attention: false, keyValue: !cfg.cross });
    const at = stages.findIndex((s) => s.name === 'output');
    this.before = stages.slice(0, at);
    this.after = stages.slice(at);
    const n = cfg.cross ? cfg.kvSeq : 1;
    for (let l = 0; l < cfg.layers; l++) {
      this.cores.push(await prepareDecodeCore(gpu, cache, {
        label: `decode attention layer ${l}`, q: this.buffers.q, kCache: kv.k[l]!, vCache: kv.v[l]!, out: this.buffers.weighted,
        heads: cfg.heads, dHead: cfg.dHead, maxSeq: kv.rows, n, precision: cfg.precision,
      }));
    }
  }

  /** Every stage's dispatches (first use, release); the decode plans own theirs. */
  get dispatches() {
    return [...this.before, ...this.after].flatMap((s) => s.dispatches);
  }

  destroy(): void {
    release(this.dispatches);
    this.before = [];
    this.after = [];
    for (const c of this.cores) c.destroy();
    this.cores = [];
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
