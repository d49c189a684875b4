// Work of one forward pass, counted the way the benchmarks report it: 2 FLOPs per
// multiply-add; with the causal mask only the visible query-key pairs count (the kernels skip
// the rest), as FlashAttention's papers count them. Softmax and the residual add are ignored
// (a few FLOPs per score, far below the matmuls).

import { innerWidth, type AttentionConfig } from './config.js';

export interface LayerFlops {
  projections: number;
  attentionCore: number;
  /** The MLP's two products (block 'full'; 0 otherwise). */
  mlp: number;
  total: number;
}

/** Query-key pairs a head evaluates: all of them, or the lower triangle under the mask. */
export function visiblePairs(cfg: AttentionConfig): number {
  if (!cfg.mask) return cfg.seq * cfg.kvSeq;
  const offset = cfg.kvSeq - cfg.seq;
  let pairs = 0;
  for (let i = 0; i < cfg.seq; i++) pairs += Math.min(cfg.kvSeq, i + offset + 1);
  return pairs;
}

export function layerFlops(cfg: AttentionConfig): LayerFlops {
  const inner = innerWidth(cfg);
  const projections = 2 * cfg.seq * cfg.dModel * inner * 2 + 2 * cfg.kvSeq * cfg.dModel * inner * 2;
  const attentionCore = 2 * 2 * cfg.heads * visiblePairs(cfg) * cfg.dHead;
  const mlp = cfg.block === 'full' ? 2 * 2 * cfg.seq * cfg.dModel * cfg.ffn : 0;
  return { projections, attentionCore, mlp, total: projections + attentionCore + mlp };
}

/** Parameters of one head's four maps, one layer, and the whole stack. */
export function parameterCount(cfg: AttentionConfig) {
  const perMap = cfg.dModel * cfg.dHead;
  const perHead = 4 * perMap;
  const perLayer = perHead * cfg.heads;
  return { perMap, perHead, perLayer, total: perLayer * cfg.layers };
}
