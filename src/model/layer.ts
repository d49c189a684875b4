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
import { release, type PreparedDispatch } from '../gpu/dispatch.js';
import { prepareMatmul, type MatmulCall } from '../kernels/matmul.js';
import { prepareSoftmax } from '../kernels/softmax.js';
import { prepareAttention } from '../kernels/attention.js';
import { prepareLayerNorm } from '../kernels/layernorm.js';
import { bytesPer, type Precision } from '../gpu/precision.js';

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
  /** Tokens [first, first + count) this stage covers (the MLP's per-block stages only). */
  tokens?: { first: number; count: number };
}


export async function prepareLayer(
  gpu: GpuContext,
  cache: PipelineCache,
  cfg: AttentionConfig,
  plan: MemoryPlan,
  buffers: LayerBuffers,
  /** `tile` for every product as given, or `baseTile` fitted to each product's shape. */
  tiles: Pick<MatmulCall, 'tile' | 'baseTile'> = {},
  /**
   * Parts a caller replaces with its own (a decode step, src/model/decode-layer.ts): without
   * `attention` no attention-core stages (the caller inserts its own before 'output'); without
   * `keyValue` no key and value projections (cross-attention's K and V, computed once).
   */
  parts: { attention?: boolean; keyValue?: boolean } = {},
): Promise<Stage[]> {
  // Storage: `store` is what f16 precision halves (weights, activations, q/k/v, patterns); the
  // residual stream x is f32 always. Every kernel accumulates in f32 whatever it stores.
  const ctx: LayerContext = { gpu, cache, cfg, plan, buffers, tiles, inner: innerWidth(cfg), store: cfg.precision, bytes: bytesPer(cfg.precision) };
  // Every pipeline is requested at once (createComputePipelineAsync compiles them in parallel where
  // the driver can) and awaited together at the end, in this order.
  return settle([
    ...normStage(ctx),
    qkvStage(ctx, parts.keyValue ?? true),
    ...(parts.attention ?? true ? (plan.attention === 'fused' ? [fusedCoreStage(ctx)] : materializedCoreStages(ctx)) : []),
    outputStage(ctx),
    ...mlpStages(ctx),
  ]);
}

/** What every stage of one layer is prepared from. */
interface LayerContext {
  gpu: GpuContext;
  cache: PipelineCache;
  cfg: AttentionConfig;
  plan: MemoryPlan;
  buffers: LayerBuffers;
  tiles: Pick<MatmulCall, 'tile' | 'baseTile'>;
  /** heads · dHead. */
  inner: number;
  /** The storage precision of everything but the residual stream, and its bytes per value. */
  store: Precision;
  bytes: number;
}

/** One product out = a·Wᵀ (+ bias) (+ out when accumulating), W [outWidth, inWidth] bound `chunkRows` rows at a time. */
interface Projection {
  label: string;
  a: GPUBuffer;
  aType: Precision;
  /** Rows of a (tokens) multiplied, from row `aRow` of a into row `outRow` of out. */
  rows: number;
  aRow?: number;
  outRow?: number;
  w: GPUBuffer;
  out: GPUBuffer;
  outType: Precision;
  outWidth: number;
  inWidth: number;
  chunkRows: number;
  /** The bias [outWidth] at `offset` of `buffer`; none when omitted. */
  bias?: { buffer: GPUBuffer; offset: number };
  accumulate: boolean;
  activation?: AttentionConfig['activation'];
}

/** A projection's dispatches: one per chunk of W's rows (one when W fits a binding). */
function projection({ gpu, cache, store, bytes, tiles }: LayerContext, p: Projection): Promise<PreparedDispatch>[] {
  const list: Promise<PreparedDispatch>[] = [];
  for (let n0 = 0; n0 < p.outWidth; n0 += p.chunkRows) {
    const n = Math.min(p.chunkRows, p.outWidth - n0);
    list.push(prepareMatmul(gpu, cache, {
      label: p.outWidth > p.chunkRows ? `${p.label} rows ${n0}..${n0 + n}` : p.label,
      M: p.rows, N: n, K: p.inWidth,
      a: { buffer: p.a },
      b: { buffer: p.w, offset: n0 * p.inWidth * bytes, size: n * p.inWidth * bytes },
      c: { buffer: p.out },
      ldc: p.outWidth, offC: (p.outRow ?? 0) * p.outWidth + n0,
      offA: (p.aRow ?? 0) * p.inWidth,
      transB: true, accumulate: p.accumulate,
      bias: p.bias ? { buffer: p.bias.buffer } : undefined, offBias: (p.bias?.offset ?? 0) + n0,
      types: { a: p.aType, b: store, bias: store, c: p.outType },
      activation: p.activation,
      ...tiles,
    }));
  }
  return list;
}

/** LN(x) into xn (norm 'layernorm' only). */
function normStage({ gpu, cache, cfg, buffers, store }: LayerContext): PendingStage[] {
  if (!buffers.xn) return [];
  return [{
    name: 'norm',
    dispatches: all([prepareLayerNorm(gpu, cache, {
      label: 'layernorm LN(x)', x: { buffer: buffers.x }, y: { buffer: buffers.xn }, params: { buffer: buffers.ln! }, rows: cfg.seq, dModel: cfg.dModel, outPrecision: store, eps: cfg.lnEps,
    })]),
  }];
}

/** q from LN(x) (or x); k and v from the same, or from the context with cross-attention (unless `keyValue` is off). */
function qkvStage(ctx: LayerContext, keyValue: boolean): PendingStage {
  const { cfg, plan, buffers, inner, store } = ctx;
  const query = buffers.xn ?? buffers.x;
  const queryType: Precision = buffers.xn ? store : 'f32';
  const source = buffers.context ?? query;
  const sourceType: Precision = buffers.context ? store : queryType;
  const bias = (slot: number) => (cfg.bias ? { bias: { buffer: buffers.bias!, offset: slot * inner } } : {});
  const common = { outType: store, outWidth: inner, inWidth: cfg.dModel, chunkRows: plan.qkvChunkRows, accumulate: false };
  return {
    name: 'qkv',
    dispatches: all([
      ...projection(ctx, { ...common, label: buffers.xn ? 'query LN(x)·W_Qᵀ' : 'query x·W_Qᵀ', a: query, aType: queryType, rows: cfg.seq, w: buffers.wq, out: buffers.q, ...bias(0) }),
      ...(keyValue ? [
        ...projection(ctx, { ...common, label: 'key c·W_Kᵀ', a: source, aType: sourceType, rows: cfg.kvSeq, w: buffers.wk, out: buffers.k, ...bias(1) }),
        ...projection(ctx, { ...common, label: 'value-down c·W_Vᵀ', a: source, aType: sourceType, rows: cfg.kvSeq, w: buffers.wv, out: buffers.v, ...bias(2) }),
      ] : []),
    ]),
  };
}

/** Only self-attention is masked, where kvSeq = seq: keys up to the query's own position. */
const causalOffsetOf = (cfg: AttentionConfig): number => (cfg.mask ? cfg.kvSeq - cfg.seq : 0);

/** The attention core of every head in one dispatch, without the pattern. */
function fusedCoreStage({ gpu, cache, cfg, buffers, inner, store }: LayerContext): PendingStage {
  return {
    name: 'fused',
    heads: { first: 0, count: cfg.heads },
    dispatches: all([prepareAttention(gpu, cache, {
      label: 'fused attention softmax(q·kᵀ/√dHead)·v',
      q: { buffer: buffers.q }, k: { buffer: buffers.k }, v: { buffer: buffers.v }, out: { buffer: buffers.weighted },
      seq: cfg.seq, kvSeq: cfg.kvSeq, heads: cfg.heads, dHead: cfg.dHead, ldQ: inner, ldK: inner, ldO: inner,
      causal: cfg.mask, causalOffset: causalOffsetOf(cfg), precision: store,
    })]),
  };
}

/** Per head group: scores q_h·k_hᵀ/√dHead into the pattern, its softmax in place, the weighted sums pattern·v_h. */
function materializedCoreStages({ gpu, cache, cfg, plan, buffers, inner, store, bytes, tiles }: LayerContext): PendingStage[] {
  const causalOffset = causalOffsetOf(cfg);
  const perHead = cfg.seq * cfg.kvSeq;
  const stages: PendingStage[] = [];
  for (let first = 0; first < cfg.heads; first += plan.headGroup) {
    const count = Math.min(plan.headGroup, cfg.heads - first);
    const heads = { first, count };
    const group = plan.headGroups > 1 ? ` heads ${first}..${first + count}` : '';
    const patternBinding = { buffer: buffers.pattern!, size: Math.ceil((count * perHead * bytes) / 4) * 4 };
    stages.push({
      name: 'scores',
      heads,
      dispatches: all([prepareMatmul(gpu, cache, {
        label: `scores q·kᵀ/√dHead${group}`,
        M: cfg.seq, N: cfg.kvSeq, K: cfg.dHead,
        a: { buffer: buffers.q }, b: { buffer: buffers.k }, c: patternBinding,
        lda: inner, ldb: inner, ldc: cfg.kvSeq,
        offA: first * cfg.dHead, offB: first * cfg.dHead,
        batch: count, batchA: cfg.dHead, batchB: cfg.dHead, batchC: perHead,
        alpha: 1 / Math.sqrt(cfg.dHead), transB: true,
        causal: cfg.mask ? 'skip-masked-tiles' : 'none', causalOffset,
        types: { a: store, b: store, c: store },
        ...tiles,
      })]),
    });
    stages.push({
      name: 'softmax',
      heads,
      dispatches: all([prepareSoftmax(gpu, cache, {
        label: `softmax${group}`, scores: patternBinding,
        rows: count * cfg.seq, cols: cfg.kvSeq, seq: cfg.seq, causal: cfg.mask, causalOffset, precision: store,
      })]),
    });
    stages.push({
      name: 'weighted',
      heads,
      dispatches: all([prepareMatmul(gpu, cache, {
        label: `weighted sums pattern·v${group}`,
        M: cfg.seq, N: cfg.dHead, K: cfg.kvSeq,
        a: patternBinding, b: { buffer: buffers.v }, c: { buffer: buffers.weighted },
        lda: cfg.kvSeq, ldb: inner, ldc: inner,
        offB: first * cfg.dHead, offC: first * cfg.dHead,
        batch: count, batchA: perHead, batchB: cfg.dHead, batchC: cfg.dHead,
        transB: false,
        causal: cfg.mask ? 'limit-k' : 'none', causalOffset,
        types: { a: store, b: store, c: store },
        ...tiles,
      })]),
    });
  }
  return stages;
}

/** x += weighted·W_Oᵀ (+ its bias): the value-up of all heads into the residual stream. */
function outputStage(ctx: LayerContext): PendingStage {
  const { cfg, plan, buffers, inner, store } = ctx;
  return {
    name: 'output',
    dispatches: all(projection(ctx, {
      label: 'value-up weighted·W_Oᵀ + residual', a: buffers.weighted, aType: store, rows: cfg.seq, w: buffers.wo, out: buffers.x, outType: 'f32',
      outWidth: cfg.dModel, inWidth: inner, chunkRows: plan.outputChunkRows, accumulate: true,
      ...(cfg.bias ? { bias: { buffer: buffers.bias!, offset: 3 * inner } } : {}),
    })),
  };
}

/** Block 'full': LN2(x), then per block of tokens h = act(LN2(x)·fc1ᵀ + b1) and x += h·fc2ᵀ + b2. */
function mlpStages(ctx: LayerContext): PendingStage[] {
  const { gpu, cache, cfg, plan, buffers, store } = ctx;
  const m = buffers.mlp;
  if (!m) return [];
  const stages: PendingStage[] = [{
    name: 'mlp-norm',
    dispatches: all([prepareLayerNorm(gpu, cache, {
      label: 'layernorm LN2(x)', x: { buffer: buffers.x }, y: { buffer: m.xn }, params: { buffer: m.ln }, rows: cfg.seq, dModel: cfg.dModel, outPrecision: store, eps: cfg.lnEps,
    })]),
  }];
  // A block of plan.mlpRows tokens at a time (all of them where [seq, ffn] fits a binding): the
  // hidden holds one block, fc2 adds it into its rows of x before the next block overwrites it.
  for (let r0 = 0; r0 < cfg.seq; r0 += plan.mlpRows) {
    const rows = Math.min(plan.mlpRows, cfg.seq - r0);
    const block = plan.mlpRows < cfg.seq ? ` tokens ${r0}..${r0 + rows}` : '';
    stages.push({
      name: 'mlp-up',
      tokens: { first: r0, count: rows },
      dispatches: all(projection(ctx, {
        label: `MLP up ${cfg.activation}(LN2(x)·fc1ᵀ + b1)${block}`, a: m.xn, aType: store, rows, aRow: r0, w: m.fc1, out: m.hidden, outType: store,
        outWidth: cfg.ffn, inWidth: cfg.dModel, chunkRows: plan.fc1ChunkRows, bias: { buffer: m.b1, offset: 0 }, accumulate: false, activation: cfg.activation,
      })),
    });
    stages.push({
      name: 'mlp-down',
      dispatches: all(projection(ctx, {
        label: `MLP down h·fc2ᵀ + b2 + residual${block}`, a: m.hidden, aType: store, rows, outRow: r0, w: m.fc2, out: buffers.x, outType: 'f32',
        outWidth: cfg.dModel, inWidth: cfg.ffn, chunkRows: plan.fc2ChunkRows, bias: { buffer: m.b2, offset: 0 }, accumulate: true,
      })),
    });
  }
  return stages;
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
