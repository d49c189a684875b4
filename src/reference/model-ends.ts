// Float64 CPU reference for a whole model's two ends around the layer stack: the embedding
// x[i] = tokenEmbedding[tokens[i]] + positionEmbedding[i + positionOffset], and the next-token
// logits = unembedding · LN_f(x[last]). Naive loops; imports nothing from src/gpu or src/kernels.

import { layerNorm } from './layernorm.js';
import { matmulTransB } from './matmul.js';

export interface ModelTables {
  vocab: number;
  tokenEmbedding: ArrayLike<number>;
  positionEmbedding: ArrayLike<number>;
  positionOffset: number;
  finalGain: ArrayLike<number>;
  finalBias: ArrayLike<number>;
  unembedding: ArrayLike<number>;
}

/** x [tokens, dModel]; `positionShift` plants an off-by-one position offset in tests. */
export function embed(t: ModelTables, tokens: ArrayLike<number>, dModel: number, positionShift = 0): Float64Array {
  const x = new Float64Array(tokens.length * dModel);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (!(tok >= 0 && tok < t.vocab)) throw new Error(`embed: token id ${tok} at position ${i} is outside the vocabulary of ${t.vocab}`);
    const pos = i + t.positionOffset + positionShift;
    for (let d = 0; d < dModel; d++) x[i * dModel + d] = t.tokenEmbedding[tok * dModel + d]! + t.positionEmbedding[pos * dModel + d]!;
  }
  return x;
}

/** LN_f of one row of x and the logits [vocab] it gives. */
export function finalLogits(t: ModelTables, xLast: ArrayLike<number>, dModel: number, eps: number): { xn: Float64Array; logits: Float64Array } {
  const xn = layerNorm(xLast, 1, dModel, t.finalGain, t.finalBias, eps);
  return { xn, logits: matmulTransB(xn, t.unembedding, 1, t.vocab, dModel) };
}

/** Softmax of the logits, largest first: the next-token distribution's top `n` (id, p). */
export function topTokens(logits: ArrayLike<number>, n: number): { id: number; p: number }[] {
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) max = Math.max(max, logits[v]!);
  let z = 0;
  for (let v = 0; v < logits.length; v++) z += Math.exp(logits[v]! - max);
  const ids = Array.from({ length: logits.length }, (_, v) => v).sort((a, b) => logits[b]! - logits[a]! || a - b);
  return ids.slice(0, n).map((id) => ({ id, p: Math.exp(logits[id]! - max) / z }));
}
