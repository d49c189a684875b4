// The buffers of one run: the residual stream and inputs uploaded, intermediates allocated and
// poisoned with NaN (an element a kernel fails to write then shows up), one layer's weights,
// and the optional copies a caller asked for (each layer's input, captured patterns). Owned here
// and released together; the probe reads them between layers.

import { innerWidth, type AttentionConfig } from './config.js';
import type { LayerBuffers } from './layer.js';
import { keepsEveryHiddenBlock, type MemoryPlan } from './plan.js';
import type { Inputs } from './weights.js';
import { allocateLayerWeights } from './weight-buffers.js';
import { createStorage, poison, readBack, upload } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { bytesPer, type Precision } from '../gpu/precision.js';

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
  /** Block 'full': the residual stream after the attention, before the MLP (kept only when `keepLayerInput`). */
  readMid(): Promise<Float32Array>;
  /** Block 'full': LN2(x), what the MLP's first product reads. */
  readMlpNormed(): Promise<Float32Array>;
  /**
   * Block 'full': the MLP's hidden act(LN2(x)·fc1ᵀ + b1) of tokens [firstRow, firstRow + rows): all of
   * them (where the plan computes it a block of tokens at a time, from the copy of every block kept with
   * keepLayerInput), or the last block where no copy could be kept (plan.ts keepsEveryHiddenBlock).
   */
  readHidden(): Promise<{ firstRow: number; rows: number; data: Float32Array }>;
  readOutput(): Promise<Float32Array>;
}

export class RunBuffers {
  readonly layer: LayerBuffers;
  /** A copy of x before each layer (keepLayerInput). */
  readonly layerInput: GPUBuffer | null;
  /** A copy of x after the attention, before the MLP (keepLayerInput with block 'full'). */
  readonly layerMid: GPUBuffer | null;
  /** Every block of the MLP's hidden [seq, ffn] (keepLayerInput where the hidden is computed in blocks). */
  readonly layerHidden: GPUBuffer | null;
  /** Every layer's and head's pattern [layers, heads, seq, kvSeq] (capturePatterns). */
  readonly patterns: GPUBuffer | null;
  private readonly owned: GPUBuffer[] = [];

  constructor(private readonly gpu: GpuContext, private readonly cfg: AttentionConfig, private readonly plan: MemoryPlan, inputs: Inputs,
    options: { keepLayerInput?: boolean; capturePatterns?: boolean }) {
    const inner = innerWidth(cfg);
    // f16 precision stores all but the residual stream x (and LayerNorm's small parameters) in half.
    const p = cfg.precision;
    const alloc = (elements: number, label: string, precision: Precision = 'f32') => this.keep(createStorage(gpu, elements, label, precision));
    const ln = cfg.norm === 'layernorm';
    const weights = allocateLayerWeights(cfg, alloc);
    this.layer = {
      ...weights,
      x: this.keep(upload(gpu, inputs.x, 'x')),
      context: cfg.cross ? this.keep(upload(gpu, inputs.context!, 'context', p)) : null,
      xn: ln ? alloc(cfg.seq * cfg.dModel, 'LN(x)', p) : null,
      q: alloc(cfg.seq * inner, 'q', p),
      k: alloc(cfg.kvSeq * inner, 'k', p),
      v: alloc(cfg.kvSeq * inner, 'v', p),
      weighted: alloc(cfg.seq * inner, 'weighted sums', p),
      pattern: plan.attention === 'materialized' ? alloc(plan.headGroup * cfg.seq * cfg.kvSeq, 'pattern', p) : null,
      mlp: weights.mlp && {
        ...weights.mlp,
        xn: alloc(cfg.seq * cfg.dModel, 'LN2(x)', p),
        hidden: alloc(plan.mlpRows * cfg.ffn, 'MLP hidden', p),
      },
    };
    this.layerInput = options.keepLayerInput ? alloc(cfg.seq * cfg.dModel, 'layer input') : null;
    this.layerMid = options.keepLayerInput && cfg.block === 'full' ? alloc(cfg.seq * cfg.dModel, 'layer x after attention') : null;
    this.layerHidden = options.keepLayerInput && keepsEveryHiddenBlock(cfg, plan.mlpRows) ? alloc(cfg.seq * cfg.ffn, 'every block of the MLP hidden', p) : null;
    this.patterns = options.capturePatterns ? alloc(cfg.layers * cfg.heads * cfg.seq * cfg.kvSeq, 'captured patterns', p) : null;
    const b = this.layer;
    // The kept hidden too: a block the copies miss reads NaN, never the layer before's.
    for (const buffer of [b.xn, b.q, b.k, b.v, b.weighted, b.pattern, b.mlp?.xn, b.mlp?.hidden, this.layerHidden]) if (buffer) poison(gpu, buffer, undefined, p);
  }

  get bytes(): number {
    return this.owned.reduce((sum, b) => sum + b.size, 0);
  }

  /** Commands that copy what the caller keeps of a layer: its input (before the layer's stages). */
  copyLayerInput(encoder: GPUCommandEncoder): void {
    if (this.layerInput) encoder.copyBufferToBuffer(this.layer.x, 0, this.layerInput, 0, this.cfg.seq * this.cfg.dModel * 4);
  }

  /** After the attention's output stage (block 'full'): x before the MLP, kept for sampled checks. */
  copyLayerMid(encoder: GPUCommandEncoder): void {
    if (this.layerMid) encoder.copyBufferToBuffer(this.layer.x, 0, this.layerMid, 0, this.cfg.seq * this.cfg.dModel * 4);
  }

  /** After an MLP-up stage: its block of the hidden into the kept copy at its tokens' rows. */
  copyHiddenBlock(encoder: GPUCommandEncoder, tokens: { first: number; count: number }): void {
    if (!this.layerHidden) return;
    const row = this.cfg.ffn * bytesPer(this.cfg.precision);
    encoder.copyBufferToBuffer(this.layer.mlp!.hidden, 0, this.layerHidden, tokens.first * row, tokens.count * row);
  }

  /** After a softmax stage: the heads' patterns into the capture buffer at their layer and heads. */
  capturePattern(encoder: GPUCommandEncoder, layer: number, heads: { first: number; count: number }): void {
    if (!this.patterns) return;
    const perHead = this.cfg.seq * this.cfg.kvSeq * bytesPer(this.cfg.precision);
    encoder.copyBufferToBuffer(this.layer.pattern!, 0, this.patterns, (layer * this.cfg.heads + heads.first) * perHead, heads.count * perHead);
  }

  /** [layers][heads][seq·kvSeq] of the captured patterns, or null. */
  async readPatterns(): Promise<Float32Array[][] | null> {
    if (!this.patterns) return null;
    const { layers, heads, seq, kvSeq } = this.cfg;
    const all = await readBack(this.gpu, this.patterns, layers * heads * seq * kvSeq, 0, this.cfg.precision);
    const perHead = seq * kvSeq;
    return Array.from({ length: layers }, (_, l) =>
      Array.from({ length: heads }, (_, h) => all.subarray((l * heads + h) * perHead, (l * heads + h + 1) * perHead)));
  }

  probe(layer: number): LayerProbe {
    const { gpu, cfg } = this;
    const b = this.layer;
    const inner = innerWidth(cfg);
    const p = cfg.precision; // q, k, v, weighted sums and LN(x) come back decoded to f32
    return {
      layer,
      readQ: () => readBack(gpu, b.q, cfg.seq * inner, 0, p),
      readK: () => readBack(gpu, b.k, cfg.kvSeq * inner, 0, p),
      readV: () => readBack(gpu, b.v, cfg.kvSeq * inner, 0, p),
      readWeighted: () => readBack(gpu, b.weighted, cfg.seq * inner, 0, p),
      readNormed: () => {
        if (!b.xn) throw new Error('readNormed: this run has no LayerNorm (norm none)');
        return readBack(gpu, b.xn, cfg.seq * cfg.dModel, 0, p);
      },
      readInput: () => {
        if (!this.layerInput) throw new Error('readInput needs the run option keepLayerInput');
        return readBack(gpu, this.layerInput, cfg.seq * cfg.dModel);
      },
      readMid: () => {
        if (!this.layerMid) throw new Error('readMid needs block full and the run option keepLayerInput');
        return readBack(gpu, this.layerMid, cfg.seq * cfg.dModel);
      },
      readMlpNormed: () => {
        if (!b.mlp) throw new Error('readMlpNormed: this run has no MLP (block attention)');
        return readBack(gpu, b.mlp.xn, cfg.seq * cfg.dModel, 0, p);
      },
      readHidden: async () => {
        if (!b.mlp) throw new Error('readHidden: this run has no MLP (block attention)');
        if (this.layerHidden) return { firstRow: 0, rows: cfg.seq, data: await readBack(gpu, this.layerHidden, cfg.seq * cfg.ffn, 0, p) };
        const block = this.plan.mlpRows;
        const firstRow = Math.floor((cfg.seq - 1) / block) * block;
        const rows = cfg.seq - firstRow;
        return { firstRow, rows, data: await readBack(gpu, b.mlp.hidden, rows * cfg.ffn, 0, p) };
      },
      readOutput: () => readBack(gpu, b.x, cfg.seq * cfg.dModel),
    };
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }

  private keep(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }
}
