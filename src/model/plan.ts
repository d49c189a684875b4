// The memory plan: which buffers a run allocates and how they are bound, from the adapter's
// real limits. One layer's weights live on the GPU at a time (regenerated or streamed per
// layer); a weight matrix larger than a storage binding is bound in row chunks; the attention
// pattern is computed a group of heads at a time so one group fits a binding, or not stored at
// all (the fused kernel).

import { innerWidth, type AttentionConfig } from './config.js';
import { cacheRowProblem, cacheRows, cacheSizeProblem } from './kv-cache.js';
import { formatBytes, InputError, OutOfMemoryError } from '../gpu/errors.js';
import { bytesPer } from '../gpu/precision.js';

export interface PlanLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  minStorageBufferOffsetAlignment: number;
}

export type AttentionMode = 'materialized' | 'fused';

export interface PlanOptions {
  /**
   * materialized: scores, softmax and weighted sums as three passes over a pattern buffer, in head
   * groups that fit a binding; fused: one pass per head block (shaders/attention.wgsl), no pattern
   * buffer. Default materialized; the engine decides (RunOptions.attention).
   */
  attention?: AttentionMode;
  /** Cap on the pattern buffer (bytes); default: one binding. Smaller values force head groups. */
  patternBytes?: number;
  /** Device memory the plan may use in all; default unlimited (WebGPU does not report it). */
  memoryBytes?: number;
  /** A whole model's tables (RunOptions.model): embeddings in, final LayerNorm and unembedding out. */
  model?: { vocab: number; positionRows: number; tiedUnembedding: boolean };
  /**
   * A decode session's KV cache (src/model/kv-cache.ts): K and V [heads, rows, dHead] for every
   * layer, rows = maxSeq (cross-attention: kvSeq), plus the one-row buffers of a decode step.
   */
  kvCache?: boolean;
  /** With kvCache: the decode step's weight sets, every layer's (resident) or 1 (streamed); default 1. */
  decodeWeightSets?: number;
  /** The copies verification reads a layer from (RunOptions.keepLayerInput): counted with the rest. */
  keepLayerInput?: boolean;
}

/**
 * Whether a run keeping its layers for verification also keeps every block of the MLP's hidden (one buffer [seq, ffn],
 * each block copied in after it is computed): where the hidden is computed a block of tokens at a time, the hidden
 * buffer itself ends a layer holding only the last block. Copies move whole 4-byte words, so an f16 hidden needs an
 * even ffn (every width published is); otherwise only the last block can be checked.
 */
export const keepsEveryHiddenBlock = (cfg: AttentionConfig, mlpRows: number): boolean =>
  cfg.block === 'full' && mlpRows < cfg.seq && (cfg.ffn * bytesPer(cfg.precision)) % 4 === 0;

export interface BufferPlan {
  name: string;
  elements: number;
  /** Bytes per element: 4 (f32), or 2 for what f16 precision stores in half. */
  bytesPer: number;
}

export interface MemoryPlan {
  attention: AttentionMode;
  /** Heads whose patterns are computed together, and how many groups that makes (fused: all, 1). */
  headGroup: number;
  headGroups: number;
  /** Rows of a [out, in] weight bound at once: the whole matrix when it fits a binding. */
  qkvChunkRows: number;
  outputChunkRows: number;
  /** The same for the MLP's fc1 [ffn, dModel] and fc2 [dModel, ffn] (block 'full'; the whole matrix otherwise). */
  fc1ChunkRows: number;
  fc2ChunkRows: number;
  /** Tokens whose MLP hidden is computed at once (block 'full'): seq, or fewer where [seq, ffn] exceeds a binding. */
  mlpRows: number;
  /** Rows of the token table and of the unembedding [vocab, dModel] bound at once (model runs; 0 otherwise). */
  vocabChunkRows: number;
  buffers: BufferPlan[];
  peakBytes: number;
}

const F32 = 4;
const bytesOf = (b: BufferPlan): number => b.elements * b.bytesPer;

/** One layer's weights as the GPU stores them (f16 precision halves all but LayerNorm's). */
export function layerWeights(cfg: AttentionConfig): BufferPlan[] {
  const inner = innerWidth(cfg);
  const half = cfg.precision === 'f16' ? 2 : F32;
  const weights: BufferPlan[] = [
    { name: 'W_Q', elements: inner * cfg.dModel, bytesPer: half },
    { name: 'W_K', elements: inner * cfg.dModel, bytesPer: half },
    { name: 'W_V', elements: inner * cfg.dModel, bytesPer: half },
    { name: 'W_O', elements: cfg.dModel * inner, bytesPer: half },
  ];
  if (cfg.bias) weights.push({ name: 'biases', elements: 3 * inner + cfg.dModel, bytesPer: half });
  // LayerNorm's gain and bias stay f32: 2·dModel values, nothing to save.
  if (cfg.norm === 'layernorm') weights.push({ name: 'LayerNorm gain and bias', elements: 2 * cfg.dModel, bytesPer: F32 });
  if (cfg.block === 'full') {
    weights.push({ name: 'fc1 [ffn, dModel]', elements: cfg.ffn * cfg.dModel, bytesPer: half });
    weights.push({ name: 'fc2 [dModel, ffn]', elements: cfg.dModel * cfg.ffn, bytesPer: half });
    weights.push({ name: 'fc1 bias', elements: cfg.ffn, bytesPer: half });
    weights.push({ name: 'fc2 bias', elements: cfg.dModel, bytesPer: half });
    weights.push({ name: 'LN2 gain and bias', elements: 2 * cfg.dModel, bytesPer: F32 });
  }
  return weights;
}

/** Bytes of one layer's weights on the GPU (a decode session keeps them for every layer when they fit). */
export const layerWeightBytes = (cfg: AttentionConfig): number => layerWeights(cfg).reduce((s, w) => s + bytesOf(w), 0);

export function planMemory(cfg: AttentionConfig, limits: PlanLimits, options: PlanOptions = {}): MemoryPlan {
  const binding = limits.maxStorageBufferBindingSize;
  const inner = innerWidth(cfg);
  // f16 precision halves everything but the residual stream x (config.ts says why).
  const half = cfg.precision === 'f16' ? 2 : F32;

  // Activations are bound whole: each must fit one binding.
  const activations: BufferPlan[] = [
    { name: 'x (residual stream) [seq, dModel]', elements: cfg.seq * cfg.dModel, bytesPer: F32 },
    { name: 'q [seq, heads·dHead]', elements: cfg.seq * inner, bytesPer: half },
    { name: 'k [kvSeq, heads·dHead]', elements: cfg.kvSeq * inner, bytesPer: half },
    { name: 'v [kvSeq, heads·dHead]', elements: cfg.kvSeq * inner, bytesPer: half },
    { name: 'weighted sums [seq, heads·dHead]', elements: cfg.seq * inner, bytesPer: half },
  ];
  if (cfg.cross) activations.push({ name: 'context [kvSeq, dModel]', elements: cfg.kvSeq * cfg.dModel, bytesPer: half });
  if (cfg.norm === 'layernorm') activations.push({ name: 'LN(x) [seq, dModel]', elements: cfg.seq * cfg.dModel, bytesPer: half });
  const mlp = cfg.block === 'full';
  // The MLP's hidden [seq, ffn] is computed a block of tokens at a time where it exceeds a binding
  // (GPT-3's widths at 2048 tokens: 384 MiB in f32): fc1 then fc2 per block, the hidden reused.
  let mlpRows = cfg.seq;
  if (mlp) {
    mlpRows = Math.min(cfg.seq, Math.floor(binding / (cfg.ffn * half)));
    if (mlpRows < 1) {
      throw new InputError(`one token's MLP hidden (--ffn ${cfg.ffn}) needs ${formatBytes(cfg.ffn * half)}, over the adapter's maxStorageBufferBindingSize of ${formatBytes(binding)}`);
    }
    activations.push({ name: 'LN2(x) [seq, dModel]', elements: cfg.seq * cfg.dModel, bytesPer: half });
    activations.push({ name: `MLP hidden act(LN2(x)·fc1ᵀ + b1) [${mlpRows === cfg.seq ? 'seq' : `${mlpRows} tokens`}, ffn]`, elements: mlpRows * cfg.ffn, bytesPer: half });
  }
  for (const a of activations) {
    if (bytesOf(a) > binding) {
      throw new InputError(
        `${a.name} needs ${formatBytes(bytesOf(a))}, over the adapter's maxStorageBufferBindingSize of ${formatBytes(binding)}: use a shorter --seq / --kv-seq or a smaller --d-model`,
      );
    }
  }

  const qkvChunkRows = chunkRows(inner, cfg.dModel, half, binding, limits.minStorageBufferOffsetAlignment, 'W_Q/W_K/W_V');
  const outputChunkRows = chunkRows(cfg.dModel, inner, half, binding, limits.minStorageBufferOffsetAlignment, 'W_O');
  const fc1ChunkRows = mlp ? chunkRows(cfg.ffn, cfg.dModel, half, binding, limits.minStorageBufferOffsetAlignment, 'fc1') : cfg.ffn;
  const fc2ChunkRows = mlp ? chunkRows(cfg.dModel, cfg.ffn, half, binding, limits.minStorageBufferOffsetAlignment, 'fc2') : cfg.dModel;

  const attention = options.attention ?? 'materialized';
  const perHead = cfg.seq * cfg.kvSeq * half;
  const patternCap = Math.min(binding, options.patternBytes ?? binding);
  if (attention === 'materialized' && perHead > patternCap) {
    throw new InputError(
      `one head's pattern (--seq ${cfg.seq} × --kv-seq ${cfg.kvSeq}) needs ${formatBytes(perHead)}, over the ${formatBytes(patternCap)} a pattern binding may take` +
        ' (the fused attention kernel needs no pattern buffer: --attention fused)',
    );
  }
  const headGroup = attention === 'fused' ? cfg.heads : Math.min(cfg.heads, Math.floor(patternCap / perHead));
  const headGroups = Math.ceil(cfg.heads / headGroup);

  const weights = layerWeights(cfg);
  for (const w of weights) {
    if (bytesOf(w) > limits.maxBufferSize) {
      throw new OutOfMemoryError(`${w.name} needs ${formatBytes(bytesOf(w))}, over the adapter's maxBufferSize of ${formatBytes(limits.maxBufferSize)}`);
    }
  }
  const buffers = [...activations, ...weights];
  let vocabChunkRows = 0;
  if (options.model) {
    const m = options.model;
    vocabChunkRows = chunkRows(m.vocab, cfg.dModel, half, binding, limits.minStorageBufferOffsetAlignment, 'the token embedding / unembedding');
    const tables: BufferPlan[] = [
      { name: `token embedding [${m.vocab}, dModel]`, elements: m.vocab * cfg.dModel, bytesPer: half },
      { name: `position embedding [${m.positionRows}, dModel]`, elements: m.positionRows * cfg.dModel, bytesPer: half },
      ...(m.tiedUnembedding ? [] : [{ name: `unembedding [${m.vocab}, dModel]`, elements: m.vocab * cfg.dModel, bytesPer: half }]),
      { name: 'final LayerNorm gain and bias, x and LN_f(x) of the last token', elements: 4 * cfg.dModel, bytesPer: F32 },
      { name: `logits [${m.vocab}]`, elements: m.vocab, bytesPer: F32 },
      { name: 'token ids [seq]', elements: cfg.seq, bytesPer: F32 },
    ];
    for (const t of tables) {
      if (bytesOf(t) > limits.maxBufferSize) {
        throw new OutOfMemoryError(`${t.name} needs ${formatBytes(bytesOf(t))}, over the adapter's maxBufferSize of ${formatBytes(limits.maxBufferSize)}`);
      }
    }
    if (m.vocab * 4 > binding) throw new InputError(`logits [${m.vocab}] need ${formatBytes(m.vocab * 4)}, over the adapter's maxStorageBufferBindingSize of ${formatBytes(binding)}`);
    buffers.push(...tables);
  }
  if (options.kvCache) {
    const rowProblem = cacheRowProblem(cfg);
    if (rowProblem) throw new InputError(rowProblem);
    const sizeProblem = cacheSizeProblem(cfg, limits.maxBufferSize);
    if (sizeProblem) throw new OutOfMemoryError(sizeProblem);
    const rows = cacheRows(cfg);
    buffers.push({ name: `KV cache: K and V [${cfg.heads}, ${rows}, ${cfg.dHead}] × ${cfg.layers} layers`, elements: 2 * cfg.layers * cfg.heads * rows * cfg.dHead, bytesPer: half });
    buffers.push({ name: 'a decode step\'s one-row x, LN(x), q, k, v, weighted sums (and MLP hidden)', elements: 3 * cfg.dModel + 4 * inner + (mlp ? cfg.dModel + cfg.ffn : 0), bytesPer: F32 });
    const sets = options.decodeWeightSets ?? 1;
    buffers.push({ name: `decode weights: ${sets} of ${cfg.layers} layer(s) on the GPU at once`, elements: sets * layerWeightBytes(cfg), bytesPer: 1 });
  }
  if (options.keepLayerInput) {
    buffers.push({ name: 'the layer\'s input, kept for verification [seq, dModel]', elements: cfg.seq * cfg.dModel, bytesPer: F32 });
    if (mlp) buffers.push({ name: 'x after the attention, kept for verification [seq, dModel]', elements: cfg.seq * cfg.dModel, bytesPer: F32 });
    if (keepsEveryHiddenBlock(cfg, mlpRows)) buffers.push({ name: 'every block of the MLP hidden, kept for verification [seq, ffn]', elements: cfg.seq * cfg.ffn, bytesPer: half });
  }
  if (attention === 'materialized') buffers.push({ name: `pattern [${headGroup} heads, seq, kvSeq]`, elements: headGroup * cfg.seq * cfg.kvSeq, bytesPer: half });
  const peakBytes = buffers.reduce((sum, b) => sum + bytesOf(b), 0);
  if (options.memoryBytes !== undefined && peakBytes > options.memoryBytes) {
    const list = buffers.map((b) => `${b.name} ${formatBytes(bytesOf(b))}`).join(', ');
    throw new OutOfMemoryError(`the plan needs ${formatBytes(peakBytes)}, over the ${formatBytes(options.memoryBytes)} allowed: ${list}`);
  }
  return { attention, headGroup, headGroups, qkvChunkRows, outputChunkRows, fc1ChunkRows, fc2ChunkRows, mlpRows, vocabChunkRows, buffers, peakBytes };
}

/** Rows of a [rows, cols] matrix per binding, a multiple of what keeps offsets aligned. */
function chunkRows(rows: number, cols: number, bytesPer: number, binding: number, alignment: number, what: string): number {
  if (rows * cols * bytesPer <= binding) return rows;
  const step = alignment / gcd(alignment, cols * bytesPer); // rows whose byte size is a multiple of the alignment
  const fit = Math.floor(binding / (cols * bytesPer * step)) * step;
  if (fit < step) throw new InputError(`${what}: ${step} rows of ${cols} floats exceed the maxStorageBufferBindingSize of ${formatBytes(binding)}`);
  return fit;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
