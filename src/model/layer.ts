// One attention block as GPU dispatches, prepared once and encoded for every layer:
//   xn = LN(x)·gain + bias                       (norm 'layernorm' only; xn = x otherwise)
//   q = xn·W_Qᵀ, k = c·W_Kᵀ, v = c·W_Vᵀ         (c = xn, or the context for cross-attention)
//   per head group: scores = q_h·k_hᵀ/√dHead → softmax (causal mask) → weighted sums pattern·v_h
//   (or, with the fused attention, all three in one dispatch without the pattern)
//   x += weighted·W_Oᵀ                           (value-up of all heads, added to the residual)
// and with block 'full' the MLP (GPT-2, OPT):
//   xn2 = LN2(x);  h = act(xn2·fc1ᵀ + b1)        (the activation in the first product's epilogue)
//   x += h·fc2ᵀ + b2                             (added to the residual like the output projection)
// Buffers are owned by the caller; this module only decides bindings and dispatch order.

import { innerWidth, type AttentionConfig } from './config.js';
import type { MemoryPlan } from './plan.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { release, type PreparedDispatch } from '../kernels/dispatch.js';
import { prepareMatmul, type MatmulCall } from '../kernels/matmul.js';
import { prepareSoftmax } from '../kernels/softmax.js';
import { prepareAttention } from '../kernels/attention.js';
import { prepareLayerNorm } from '../kernels/layernorm.js';
import { bytesPer, type Precision } from '../kernels/precision.js';

export interface LayerBuffers {
  x: GPUBuffer;
  /** LN(x) [seq, dModel], what the projections read, with norm 'layernorm'; null otherwise. */
  xn: GPUBuffer | null;
  /** This layer's LayerNorm [gain (dModel) | bias (dModel)] with norm 'layernorm'. */
  ln: GPUBuffer | null;
  context: GPUBuffer | null;
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  weighted: GPUBuffer;
  /** [headGroup, seq, kvSeq]; null with the fused attention. */
  pattern: GPUBuffer | null;
  wq: GPUBuffer;
  wk: GPUBuffer;
  wv: GPUBuffer;
  wo: GPUBuffer;
  /** [q (inner), k (inner), v (inner), o (dModel)] when the config has biases. */
  bias: GPUBuffer | null;
  /** Block 'full' only, else null. */
  mlp: MlpBuffers | null;
}

/** The MLP's buffers (block 'full'). */
export interface MlpBuffers {
  /** LN2(x) [seq, dModel]. */
  xn: GPUBuffer;
  /** LN2's [gain (dModel) | bias (dModel)], f32. */
  ln: GPUBuffer;
  /** act(xn·fc1ᵀ + b1) [plan.mlpRows, ffn]: one block of tokens at a time. */
  hidden: GPUBuffer;
  /** fc1 [ffn, dModel], fc2 [dModel, ffn]. */
  fc1: GPUBuffer;
  fc2: GPUBuffer;
  /** b1 [ffn], b2 [dModel] (apart: a binding offset must be 256-byte aligned). */
  b1: GPUBuffer;
  b2: GPUBuffer;
}

export interface Stage {
  name: 'norm' | 'qkv' | 'scores' | 'softmax' | 'weighted' | 'fused' | 'output' | 'mlp-norm' | 'mlp-up' | 'mlp-down';
  dispatches: PreparedDispatch[];
  /** Heads [first, first + count) this stage covers (attention stages only). */
  heads?: { first: number; count: number };
}


export async function prepareLayer(
  gpu: GpuContext,
  cache: PipelineCache,
  cfg: AttentionConfig,
  plan: MemoryPlan,
  b: LayerBuffers,
  /** `tile` for every product as given, or `baseTile` fitted to each product's shape. */
  tiles: Pick<MatmulCall, 'tile' | 'baseTile'> = {},
  /**
   * Parts a caller replaces with its own (a decode step, src/model/decode-layer.ts): without
   * `attention` no attention-core stages (the caller inserts its own before 'output'); without
   * `keyValue` no key and value projections (cross-attention's K and V, computed once).
   */
  parts: { attention?: boolean; keyValue?: boolean } = {},
): Promise<Stage[]> {
  const withAttention = parts.attention ?? true;
  const withKeyValue = parts.keyValue ?? true;
  const inner = innerWidth(cfg);
  // Storage: 'h' is what f16 precision halves (weights, activations, q/k/v, patterns); the
  // residual stream x is f32 always. Every kernel accumulates in f32 whatever it stores.
  const h: Precision = cfg.precision;
  const F = bytesPer(h);
  const queryInput = b.xn ?? b.x;
  const queryType: Precision = b.xn ? h : 'f32';
  const source = b.context ?? queryInput;
  const sourceType: Precision = b.context ? h : queryType;
  // Every pipeline is requested at once (createComputePipelineAsync compiles them in parallel where
  // the driver can) and awaited together at the end.
  const stages: PendingStage[] = [];
  if (b.xn) {
    stages.push({
      name: 'norm',
      dispatches: all([prepareLayerNorm(gpu, cache, {
        label: 'layernorm LN(x)', x: { buffer: b.x }, y: { buffer: b.xn }, params: { buffer: b.ln! }, rows: cfg.seq, dModel: cfg.dModel, outPrecision: h, eps: cfg.lnEps,
      })]),
    });
  }

  // Projections: W is [out, in]; a W too large for one binding is bound `rows` rows at a time.
  const projection = (label: string, a: GPUBuffer, aType: Precision, M: number, w: GPUBuffer, out: GPUBuffer, outType: Precision,
    outWidth: number, inWidth: number, rows: number, biasOffset: number | null, accumulate: boolean,
    extra: { biasBuffer?: GPUBuffer; activation?: AttentionConfig['activation']; aRow?: number; outRow?: number } = {}): Promise<PreparedDispatch>[] => {
    const list: Promise<PreparedDispatch>[] = [];
    for (let n0 = 0; n0 < outWidth; n0 += rows) {
      const n = Math.min(rows, outWidth - n0);
      list.push(prepareMatmul(gpu, cache, {
        label: outWidth > rows ? `${label} rows ${n0}..${n0 + n}` : label,
        M, N: n, K: inWidth,
        a: { buffer: a },
        b: { buffer: w, offset: n0 * inWidth * F, size: n * inWidth * F },
        c: { buffer: out },
        ldc: outWidth, offC: (extra.outRow ?? 0) * outWidth + n0,
        offA: (extra.aRow ?? 0) * inWidth,
        transB: true, accumulate,
        bias: biasOffset === null ? undefined : { buffer: extra.biasBuffer ?? b.bias! }, offBias: (biasOffset ?? 0) + n0,
        types: { a: aType, b: h, bias: h, c: outType },
        activation: extra.activation,
        ...tiles,
      }));
    }
    return list;
  };
  const biasAt = (slot: number) => (cfg.bias ? slot * inner : null);
  stages.push({
    name: 'qkv',
    dispatches: all([
      ...projection(b.xn ? 'query LN(x)·W_Qᵀ' : 'query x·W_Qᵀ', queryInput, queryType, cfg.seq, b.wq, b.q, h, inner, cfg.dModel, plan.qkvChunkRows, biasAt(0), false),
      ...(withKeyValue ? [
        ...projection('key c·W_Kᵀ', source, sourceType, cfg.kvSeq, b.wk, b.k, h, inner, cfg.dModel, plan.qkvChunkRows, biasAt(1), false),
        ...projection('value-down c·W_Vᵀ', source, sourceType, cfg.kvSeq, b.wv, b.v, h, inner, cfg.dModel, plan.qkvChunkRows, biasAt(2), false),
      ] : []),
    ]),
  });

  // Only self-attention is masked, where kvSeq = seq: keys up to the query's own position.
  const causalOffset = cfg.mask ? cfg.kvSeq - cfg.seq : 0;
  const perHead = cfg.seq * cfg.kvSeq;
  if (withAttention && plan.attention === 'fused') {
    stages.push({
      name: 'fused',
      heads: { first: 0, count: cfg.heads },
      dispatches: all([prepareAttention(gpu, cache, {
        label: 'fused attention softmax(q·kᵀ/√dHead)·v',
        q: { buffer: b.q }, k: { buffer: b.k }, v: { buffer: b.v }, out: { buffer: b.weighted },
        seq: cfg.seq, kvSeq: cfg.kvSeq, heads: cfg.heads, dHead: cfg.dHead, ldQ: inner, ldK: inner, ldO: inner,
        causal: cfg.mask, causalOffset, precision: h,
      })]),
    });
  }
  for (let first = 0; withAttention && plan.attention === 'materialized' && first < cfg.heads; first += plan.headGroup) {
    const count = Math.min(plan.headGroup, cfg.heads - first);
    const heads = { first, count };
    const group = plan.headGroups > 1 ? ` heads ${first}..${first + count}` : '';
    const patternBinding = { buffer: b.pattern!, size: Math.ceil((count * perHead * F) / 4) * 4 };
    stages.push({
      name: 'scores',
      heads,
      dispatches: all([prepareMatmul(gpu, cache, {
        label: `scores q·kᵀ/√dHead${group}`,
        M: cfg.seq, N: cfg.kvSeq, K: cfg.dHead,
        a: { buffer: b.q }, b: { buffer: b.k }, c: patternBinding,
        lda: inner, ldb: inner, ldc: cfg.kvSeq,
        offA: first * cfg.dHead, offB: first * cfg.dHead,
        batch: count, batchA: cfg.dHead, batchB: cfg.dHead, batchC: perHead,
        alpha: 1 / Math.sqrt(cfg.dHead), transB: true,
        causal: cfg.mask ? 'skip-masked-tiles' : 'none', causalOffset,
        types: { a: h, b: h, c: h },
        ...tiles,
      })]),
    });
    stages.push({
      name: 'softmax',
      heads,
      dispatches: all([prepareSoftmax(gpu, cache, {
        label: `softmax${group}`, scores: patternBinding,
        rows: count * cfg.seq, cols: cfg.kvSeq, seq: cfg.seq, causal: cfg.mask, causalOffset, precision: h,
      })]),
    });
    stages.push({
      name: 'weighted',
      heads,
      dispatches: all([prepareMatmul(gpu, cache, {
        label: `weighted sums pattern·v${group}`,
        M: cfg.seq, N: cfg.dHead, K: cfg.kvSeq,
        a: patternBinding, b: { buffer: b.v }, c: { buffer: b.weighted },
        lda: cfg.kvSeq, ldb: inner, ldc: inner,
        offB: first * cfg.dHead, offC: first * cfg.dHead,
        batch: count, batchA: perHead, batchB: cfg.dHead, batchC: cfg.dHead,
        transB: false,
        causal: cfg.mask ? 'limit-k' : 'none', causalOffset,
        types: { a: h, b: h, c: h },
        ...tiles,
      })]),
    });
  }

  stages.push({
    name: 'output',
    dispatches: all(projection('value-up weighted·W_Oᵀ + residual', b.weighted, h, cfg.seq, b.wo, b.x, 'f32', cfg.dModel, inner,
      plan.outputChunkRows, cfg.bias ? 3 * inner : null, true)),
  });

  if (b.mlp) {
    const m = b.mlp;
    stages.push({
      name: 'mlp-norm',
      dispatches: all([prepareLayerNorm(gpu, cache, {
        label: 'layernorm LN2(x)', x: { buffer: b.x }, y: { buffer: m.xn }, params: { buffer: m.ln }, rows: cfg.seq, dModel: cfg.dModel, outPrecision: h, eps: cfg.lnEps,
      })]),
    });
    // A block of plan.mlpRows tokens at a time (all of them where [seq, ffn] fits a binding): the
    // hidden holds one block, fc2 adds it into its rows of x before the next block overwrites it.
    for (let r0 = 0; r0 < cfg.seq; r0 += plan.mlpRows) {
      const rows = Math.min(plan.mlpRows, cfg.seq - r0);
      const block = plan.mlpRows < cfg.seq ? ` tokens ${r0}..${r0 + rows}` : '';
      stages.push({
        name: 'mlp-up',
        dispatches: all(projection(`MLP up ${cfg.activation}(LN2(x)·fc1ᵀ + b1)${block}`, m.xn, h, rows, m.fc1, m.hidden, h, cfg.ffn, cfg.dModel,
          plan.fc1ChunkRows, 0, false, { biasBuffer: m.b1, activation: cfg.activation, aRow: r0 })),
      });
      stages.push({
        name: 'mlp-down',
        dispatches: all(projection(`MLP down h·fc2ᵀ + b2 + residual${block}`, m.hidden, h, rows, m.fc2, b.x, 'f32', cfg.dModel, cfg.ffn,
          plan.fc2ChunkRows, 0, true, { biasBuffer: m.b2, outRow: r0 })),
      });
    }
  }
  return settle(stages);
}

type PendingStage = Omit<Stage, 'dispatches'> & { dispatches: Promise<PreparedDispatch[]> };
/** All of a stage's dispatches, or (one failing) none: the prepared ones are released first. */
async function all(list: Promise<PreparedDispatch>[]): Promise<PreparedDispatch[]> {
  const results = await Promise.allSettled(list);
  const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    release(done);
    throw (failed as PromiseRejectedResult).reason;
  }
  return done;
}

/** Awaits every stage's dispatches; if one fails, the others are released before it is thrown. */
async function settle(pending: PendingStage[]): Promise<Stage[]> {
  const results = await Promise.allSettled(pending.map((p) => p.dispatches));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    // The stages that succeeded hold uniforms: release them (a failed stage released its own).
    for (const r of results) if (r.status === 'fulfilled') release(r.value);
    throw (failed as PromiseRejectedResult).reason;
  }
  return pending.map((p, i) => ({ ...p, dispatches: (results[i] as PromiseFulfilledResult<PreparedDispatch[]>).value }));
}
