// A whole model's two ends around the layer stack (RunOptions.model), on the GPU:
//   in:  x[i] = tokenEmbedding[tokens[i]] + positionEmbedding[i + positionOffset]   (shaders/embed.wgsl)
//   out: logits = unembedding · LN_f(x[seq − 1])   (the last token's row copied out, the layernorm
//        kernel, then one matmul row per chunk of the unembedding)
// The tables are uploaded once per run (f16-rounded with f16 precision); a tied unembedding is the
// token table's buffer itself. Tables over one storage binding are bound in row chunks
// (plan.vocabChunkRows: GPT-2's 50257×768 f32 table is 154 MB, over lavapipe's 128 MiB).

import type { AttentionConfig } from './config.js';
import type { MemoryPlan } from './plan.js';
import type { ModelTensors } from './weights.js';
import { createStorage, poison, readBack, upload } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { Usage } from '../gpu/usage.js';
import { encode, release, type PreparedDispatch } from '../gpu/dispatch.js';
import { prepareEmbed } from '../kernels/embed.js';
import { prepareLayerNorm } from '../kernels/layernorm.js';
import { prepareMatmul, type MatmulTile } from '../kernels/matmul.js';
import { bytesPer } from '../gpu/precision.js';

export class ModelEnds {
  private readonly owned: GPUBuffer[] = [];
  private readonly tokens: GPUBuffer;
  private readonly table: GPUBuffer;
  private readonly positions: GPUBuffer;
  private readonly unembedding: GPUBuffer;
  /** [gain (dModel) | bias (dModel)] of the final LayerNorm, f32. */
  private readonly finalLn: GPUBuffer;
  /** The last token's row of x (f32) and LN_f of it (stored as the run's precision). */
  private readonly xLast: GPUBuffer;
  private readonly xFinal: GPUBuffer;
  readonly logits: GPUBuffer;
  embed: PreparedDispatch[] = [];
  final: PreparedDispatch[] = [];

  constructor(private readonly gpu: GpuContext, private readonly cfg: AttentionConfig, private readonly x: GPUBuffer,
    private readonly model: { tensors: ModelTensors; tokens: Uint32Array }) {
    const p = cfg.precision;
    const t = model.tensors;
    this.tokens = this.keep(gpu.device.createBuffer({ label: 'token ids', size: Math.ceil((model.tokens.length * 4) / 16) * 16, usage: Usage.STORAGE | Usage.COPY_DST }));
    gpu.device.queue.writeBuffer(this.tokens, 0, model.tokens.buffer, model.tokens.byteOffset, model.tokens.byteLength);
    this.table = this.keep(upload(gpu, t.tokenEmbedding, 'token embedding', p));
    this.positions = this.keep(upload(gpu, t.positionEmbedding, 'position embedding', p));
    this.unembedding = t.unembedding === t.tokenEmbedding ? this.table : this.keep(upload(gpu, t.unembedding, 'unembedding', p));
    const ln = new Float32Array(2 * cfg.dModel);
    ln.set(t.finalGain, 0);
    ln.set(t.finalBias, cfg.dModel);
    this.finalLn = this.keep(upload(gpu, ln, 'final LayerNorm gain and bias'));
    this.xLast = this.keep(createStorage(gpu, cfg.dModel, 'x of the last token'));
    this.xFinal = this.keep(createStorage(gpu, cfg.dModel, 'LN_f(x) of the last token', p));
    this.logits = this.keep(createStorage(gpu, t.vocab, 'logits'));
    for (const b of [this.xLast, this.logits]) poison(gpu, b);
    poison(gpu, this.xFinal, undefined, p);
  }

  /** The embedding's and the final products' dispatches: once per run. */
  async prepare(cache: PipelineCache, plan: MemoryPlan, tiles: { tile?: MatmulTile; baseTile?: MatmulTile }): Promise<void> {
    const { gpu, cfg } = this;
    const t = this.model.tensors;
    const h = cfg.precision;
    const F = bytesPer(h);
    this.embed = await prepareEmbed(gpu, cache, {
      label: 'embedding x = token + position', tokens: this.tokens, table: this.table, positions: this.positions, x: this.x,
      seq: cfg.seq, dModel: cfg.dModel, vocab: t.vocab, positionRows: t.positionEmbedding.length / cfg.dModel, positionOffset: t.positionOffset,
      chunkRows: plan.vocabChunkRows, precision: h,
    });
    const final: Promise<PreparedDispatch>[] = [prepareLayerNorm(gpu, cache, {
      label: 'final LayerNorm LN_f(x_last)', x: { buffer: this.xLast }, y: { buffer: this.xFinal }, params: { buffer: this.finalLn },
      rows: 1, dModel: cfg.dModel, outPrecision: h, eps: cfg.lnEps,
    })];
    const rows = plan.vocabChunkRows;
    for (let n0 = 0; n0 < t.vocab; n0 += rows) {
      const n = Math.min(rows, t.vocab - n0);
      final.push(prepareMatmul(gpu, cache, {
        label: t.vocab > rows ? `logits unembedding·LN_f(x) rows ${n0}..${n0 + n}` : 'logits unembedding·LN_f(x)',
        M: 1, N: n, K: cfg.dModel,
        a: { buffer: this.xFinal }, b: { buffer: this.unembedding, offset: n0 * cfg.dModel * F, size: Math.ceil((n * cfg.dModel * F) / 4) * 4 },
        c: { buffer: this.logits }, ldc: t.vocab, offC: n0, transB: true,
        types: { a: h, b: h, c: 'f32' }, ...tiles,
      }));
    }
    const settled = await Promise.allSettled(final);
    this.final = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Every dispatch (for the first-use pass and for release). */
  get dispatches(): PreparedDispatch[] {
    return [...this.embed, ...this.final];
  }

  encodeEmbed(encoder: GPUCommandEncoder): void {
    const pass = encoder.beginComputePass({ label: 'embedding' });
    for (const d of this.embed) encode(pass, d);
    pass.end();
  }

  /** The last token's row of x out, LN_f, the logits. */
  encodeFinal(encoder: GPUCommandEncoder): void {
    const D = this.cfg.dModel;
    encoder.copyBufferToBuffer(this.x, (this.cfg.seq - 1) * D * 4, this.xLast, 0, D * 4);
    const pass = encoder.beginComputePass({ label: 'final LayerNorm and logits' });
    for (const d of this.final) encode(pass, d);
    pass.end();
  }

  readLogits(): Promise<Float32Array> {
    return readBack(this.gpu, this.logits, this.model.tensors.vocab);
  }

  destroy(): void {
    release(this.dispatches);
    this.embed = [];
    this.final = [];
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }

  private keep(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }
}
