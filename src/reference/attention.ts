// Float64 CPU reference for multi-head attention: naive loops, obviously right, slow.
// It imports nothing from src/gpu, src/kernels or src/model/engine*: a check that shares
// code with what it checks proves little. All arrays are row-major.

import type { AttentionConfig } from '../model/config.js';
import { LAYERNORM_EPS, layerNorm } from './layernorm.js';
import { expectLength, matmulTransB } from './matmul.js';
import { mlpBlock, type ActivationName, type MlpResult } from './mlp.js';
import { seededArray, seededLayerNorm, seededMlpLayerNorm, seededMlpTensor, seededTensor, type MlpTensorName, type Projection } from '../model/seeded.js';
import type { LayerTensors } from '../model/weights.js';

// The products, in the package's `reference` namespace (src/index.ts) with the rest of this module.
export { matmul, matmulTransB } from './matmul.js';

/** One layer in PyTorch Linear layout (model/weights.ts): q, k, v [heads·dHead, dModel]; o [dModel, heads·dHead]. */
export type LayerWeights = LayerTensors;

export interface LayerResult {
  /** Output [seq, dModel]: x + attn·Woᵀ (+ bo). */
  y: Float64Array;
  /** Projections: q [seq, heads·dHead]; k, v [kvSeq, heads·dHead]. */
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** Pattern-weighted sums of v, heads side by side [seq, heads·dHead], before W_O. */
  attn: Float64Array;
  /** The query-side input the projections read: LN(x) with norm 'layernorm', x itself otherwise. */
  xn: ArrayLike<number>;
  /** The value-up product attn·Woᵀ (+ bo): Δe, added to the residual. */
  delta: Float64Array;
  /** Block 'full': the residual stream after the attention (x + delta), the MLP's input; y is then after the MLP. */
  mid?: Float64Array;
  /** Block 'full': the MLP's intermediates. */
  mlp?: MlpResult;
}

/** Errors the verification tests plant in the reference (what a wrong kernel would compute). */
export interface LayerFault {
  scale?: number;
  causalOffset?: number;
  /** The MLP with another activation, or without a bias. */
  activation?: ActivationName;
  skipFc1Bias?: boolean;
  skipFc2Bias?: boolean;
}

export interface SoftmaxOptions {
  causal: boolean;
  /** Rows per block of queries (e.g. seq when heads are stacked as blocks); default: all rows. */
  queryRowsPerBlock?: number;
  /** Query i sees keys j ≤ i + offset (e.g. cached keys before the queries); default 0. */
  offset?: number;
}

/**
 * Row-wise softmax of scores [rows, cols]. With causal, row r (query i = r % queryRowsPerBlock)
 * gives exactly 0 to keys j > i + offset. The row maximum of the visible keys is subtracted
 * first, so huge scores do not overflow. A row with no visible key is all zeros (not NaN).
 */
export function softmaxRows(scores: Float64Array, rows: number, cols: number, opts: SoftmaxOptions): Float64Array {
  expectLength('softmaxRows scores', scores, rows * cols, `[${rows}, ${cols}]`);
  const block = opts.queryRowsPerBlock ?? rows;
  const offset = opts.offset ?? 0;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const visible = opts.causal ? Math.min(cols, Math.max(0, (r % block) + offset + 1)) : cols;
    const row = r * cols;
    let max = -Infinity;
    for (let j = 0; j < visible; j++) max = Math.max(max, scores[row + j]!);
    if (max === -Infinity) continue; // nothing visible: leave zeros
    let sum = 0;
    for (let j = 0; j < visible; j++) {
      const e = Math.exp(scores[row + j]! - max);
      out[row + j] = e;
      sum += e;
    }
    for (let j = 0; j < visible; j++) out[row + j] = out[row + j]! / sum;
  }
  return out;
}

/** Rows of keys/values: the context for cross-attention, the queries' own rows otherwise. */
export const keyRows = (cfg: AttentionConfig): number => (cfg.cross ? cfg.kvSeq : cfg.seq);

/** Scores [rows, keys] of the head at columns col … col + dHead: q_h·k_hᵀ·scale, rows of width `width`. */
function headScores(q: ArrayLike<number>, k: ArrayLike<number>, rows: number, keys: number, width: number, col: number, dHead: number, scale: number): Float64Array {
  const scores = new Float64Array(rows * keys);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < keys; j++) {
      let s = 0;
      for (let d = 0; d < dHead; d++) s += q[i * width + col + d]! * k[j * width + col + d]!;
      scores[i * keys + j] = s * scale;
    }
  }
  return scores;
}

/**
 * Pattern [seq, keyRows] of one head: softmax(q_h·k_hᵀ/√dHead), causal when cfg.mask
 * (cross-attention is never masked). q [seq, heads·dHead], k [keyRows, heads·dHead];
 * head h uses columns h·dHead … (h+1)·dHead.
 */
export function attentionPattern(q: Float64Array, k: Float64Array, cfg: AttentionConfig, head: number): Float64Array {
  const { seq, dHead } = cfg;
  const width = cfg.heads * dHead;
  const kr = keyRows(cfg);
  expectLength('attentionPattern q', q, seq * width, `[${seq}, ${width}]`);
  expectLength('attentionPattern k', k, kr * width, `[${kr}, ${width}]`);
  if (!Number.isInteger(head) || head < 0 || head >= cfg.heads) throw new Error(`head ${head} is not in [0, ${cfg.heads})`);
  const scores = headScores(q, k, seq, kr, width, head * dHead, dHead, 1 / Math.sqrt(dHead));
  return softmaxRows(scores, seq, kr, { causal: cfg.mask && !cfg.cross });
}

/**
 * The attention core of every head: attn[i, h·d + e] = Σ_j softmax_j(q_h·k_hᵀ·scale)[i, j]·v[j, h·d + e],
 * q [seq, heads·d], k and v [kvSeq, heads·d]. Causal: key j is visible to query i when j <= i + causalOffset.
 */
export function attentionCore(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  shape: { seq: number; kvSeq: number; heads: number; dHead: number; causal: boolean; causalOffset?: number; scale?: number },
): Float64Array {
  const { seq, kvSeq, heads, dHead } = shape;
  const width = heads * dHead;
  expectLength('attentionCore q', q, seq * width, `[${seq}, ${width}]`);
  expectLength('attentionCore k', k, kvSeq * width, `[${kvSeq}, ${width}]`);
  expectLength('attentionCore v', v, kvSeq * width, `[${kvSeq}, ${width}]`);
  const scale = shape.scale ?? 1 / Math.sqrt(dHead);
  const attn = new Float64Array(seq * width);
  for (let h = 0; h < heads; h++) {
    const col = h * dHead;
    const scores = headScores(q, k, seq, kvSeq, width, col, dHead, scale);
    const p = softmaxRows(scores, seq, kvSeq, { causal: shape.causal, offset: shape.causalOffset ?? 0 });
    for (let i = 0; i < seq; i++) {
      for (let d = 0; d < dHead; d++) {
        let s = 0;
        for (let j = 0; j < kvSeq; j++) s += p[i * kvSeq + j]! * v[j * width + col + d]!;
        attn[i * width + col + d] = s;
      }
    }
  }
  return attn;
}

/**
 * One query row of one head: softmax(q_i·k_hᵀ·scale)·v_h over the keys row i sees (all, or
 * j ≤ i + causalOffset under the mask). q [seq, heads·d], k and v [kvSeq, heads·d]. For sampled
 * checks, which recompute a few (row, head) pairs of a layer too large to recompute whole.
 */
export function attentionRow(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  shape: { kvSeq: number; heads: number; dHead: number; causal: boolean; causalOffset?: number },
  row: number, head: number,
): Float64Array {
  const { kvSeq, dHead } = shape;
  const width = shape.heads * dHead;
  const visible = shape.causal ? Math.min(kvSeq, Math.max(0, row + (shape.causalOffset ?? 0) + 1)) : kvSeq;
  const qRow = new Float64Array(width);
  for (let c = 0; c < width; c++) qRow[c] = q[row * width + c]!;
  const scores = headScores(qRow, k, 1, visible, width, head * dHead, dHead, 1 / Math.sqrt(dHead));
  const p = softmaxRows(scores, 1, visible, { causal: false });
  const out = new Float64Array(dHead);
  for (let j = 0; j < visible; j++) for (let d = 0; d < dHead; d++) out[d]! += p[j]! * v[j * width + head * dHead + d]!;
  return out;
}

/**
 * One attention block with its residual: y = x + concat_h(pattern_h·v_h)·Woᵀ (+ bo), the
 * heads reading LN(x) instead of x with norm 'layernorm' (for cross-attention, keys and values
 * come from the context as given); with block 'full' the MLP follows, y = mid + MLP(LN2(mid))
 * (./mlp.ts). `scale` and `causalOffset` default to the block's own (1/√dHead, 0);
 * verification tests plant errors through them and the MLP faults.
 */
export function attentionLayer(
  x: ArrayLike<number>,
  context: ArrayLike<number> | null,
  w: LayerWeights,
  cfg: AttentionConfig,
  fault: LayerFault = {},
): LayerResult {
  const { seq, dModel, dHead } = cfg;
  const width = cfg.heads * dHead;
  const kr = keyRows(cfg);
  expectLength('attentionLayer x', x, seq * dModel, `[seq ${seq}, dModel ${dModel}]`);
  if (cfg.cross && !context) throw new Error('attentionLayer: cross-attention needs a context');
  let xn: ArrayLike<number> = x;
  if (cfg.norm === 'layernorm') {
    if (!w.lnGain || !w.lnBias) throw new Error('attentionLayer: norm layernorm needs lnGain and lnBias');
    xn = layerNorm(x, seq, dModel, w.lnGain, w.lnBias, cfg.lnEps ?? LAYERNORM_EPS);
  }
  const c = cfg.cross ? context! : xn;
  expectLength('attentionLayer context', c, kr * dModel, `[${kr}, dModel ${dModel}]`);

  const q = matmulTransB(xn, w.q, seq, width, dModel, w.qBias);
  const k = matmulTransB(c, w.k, kr, width, dModel, w.kBias);
  const v = matmulTransB(c, w.v, kr, width, dModel, w.vBias);
  const attn = attentionCore(q, k, v, {
    seq, kvSeq: kr, heads: cfg.heads, dHead, causal: cfg.mask && !cfg.cross, scale: fault.scale, causalOffset: fault.causalOffset,
  });
  const delta = matmulTransB(attn, w.o, seq, dModel, width, w.oBias);
  const y = new Float64Array(seq * dModel);
  for (let i = 0; i < y.length; i++) y[i] = x[i]! + delta[i]!;
  if (cfg.block !== 'full') return { y, q, k, v, attn, xn, delta };
  if (!w.mlpLnGain || !w.mlpLnBias || !w.fc1 || !w.fc1Bias || !w.fc2 || !w.fc2Bias) {
    throw new Error('attentionLayer: block full needs mlpLnGain, mlpLnBias, fc1, fc1Bias, fc2 and fc2Bias');
  }
  const mlp = mlpBlock(y, w as Required<LayerWeights>, cfg, fault);
  return { y: mlp.y, q, k, v, attn, xn, delta, mid: y, mlp };
}

/** cfg.layers blocks one after another; cross-attention reads the same context in every layer. */
export function attentionStack(
  x: ArrayLike<number>,
  context: ArrayLike<number> | null,
  weightsOf: (layer: number) => LayerWeights,
  cfg: AttentionConfig,
): Float64Array {
  let h: Float64Array = Float64Array.from(x);
  for (let l = 0; l < cfg.layers; l++) h = attentionLayer(h, context, weightsOf(l), cfg).y;
  return h;
}

/** The weights the GPU fills in place (shaders/fill_random.wgsl), element i of each tensor row-major. */
export function seededLayerWeights(seed: number, layer: number, cfg: AttentionConfig): LayerWeights {
  const tensor = (p: Projection, isBias: boolean): Float32Array => {
    const t = seededTensor(seed, layer, p, isBias, cfg);
    return seededArray(t.key, t.count, t.scale);
  };
  const w: LayerWeights = { q: tensor('q', false), k: tensor('k', false), v: tensor('v', false), o: tensor('o', false) };
  if (cfg.bias) Object.assign(w, { qBias: tensor('q', true), kBias: tensor('k', true), vBias: tensor('v', true), oBias: tensor('o', true) });
  if (cfg.norm === 'layernorm') {
    const ln = seededLayerNorm(seed, layer, cfg.dModel);
    w.lnGain = ln.gain;
    w.lnBias = ln.bias;
  }
  if (cfg.block === 'full') {
    const mlp = (name: MlpTensorName, isBias: boolean): Float32Array => {
      const t = seededMlpTensor(seed, layer, name, isBias, cfg);
      return seededArray(t.key, t.count, t.scale);
    };
    const ln2 = seededMlpLayerNorm(seed, layer, cfg.dModel);
    Object.assign(w, { mlpLnGain: ln2.gain, mlpLnBias: ln2.bias, fc1: mlp('fc1', false), fc1Bias: mlp('fc1', true), fc2: mlp('fc2', false), fc2Bias: mlp('fc2', true) });
  }
  return w;
}
