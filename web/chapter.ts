// The chapter's example: weights constructed by hand, not trained, so that the heads do what
// the attention chapter describes on any text. The embedding of token i holds
//   dim 0 a constant 1, dim 1 the position i, dim 2 i², dim 3 "first token" (1 at i = 0),
//   dims 4–11 the part of speech of its word (one-hot, web/lexicon.ts),
//   dims 12–27 the token's identity (its seeded embedding, scaled by ½), dims 28–63 zero.
// Per head (score = q·k/√d_head; W_Q carries the factor √d_head so the scores read as below):
//   head 0  nouns → the adjectives before them: score 10 for an adjective key, + ¼ per position
//           (nearer adjectives win), 4 for the first token (where a noun has no adjective);
//           every other query looks at the first token (score 10).
//   head 1  previous token: score −3·(i − 1 − j)², from q = 3·(2i − 2, −1), k = (j, j²).
//   head 2  first token: score 10 for key 0.
//   head 3  itself: score −3·(i − j)².
// Value-down (W_V) copies a token's identity dims (12–27) into each head; value-up (W_O) adds
// half of the first 8 of them into dims 32 + 8·head …: Δe lands where no query or key reads,
// so layer 1 (the same weights) repeats layer 0's patterns.

import { tokenEmbeddings } from '../src/model/embeddings.js';
import { SMALL, type AttentionConfig, type Inputs, type LayerTensors } from '../src/index.js';
import { TAGS, tagTokens, type Tag } from './lexicon.js';

export const CHAPTER_CONFIG = { layers: 2, heads: 4, dModel: 64, dHead: 16, mask: true, cross: false, bias: false, norm: 'none' } as const;
export const CHAPTER_HEADS = ['nouns → the adjectives before them', 'previous token', 'first token', 'itself'] as const;

const C = 0, P = 1, P2 = 2, FIRST = 3, POS = 4, ID = 12, ID_DIMS = 16, OUT = 32;
const pos = (t: Tag) => POS + TAGS.indexOf(t);

export interface ChapterExample {
  inputs: Inputs;
  layers: LayerTensors[];
  tags: Tag[];
}

/** The residual stream x [seq, 64] for these tokens. */
export function chapterEmbeddings(ids: number[], strings: string[], seed: number): { x: Float32Array; tags: Tag[] } {
  const d = CHAPTER_CONFIG.dModel;
  const tags = tagTokens(strings);
  const identity = tokenEmbeddings(ids, ID_DIMS, seed);
  const x = new Float32Array(ids.length * d);
  ids.forEach((_, i) => {
    const row = x.subarray(i * d, (i + 1) * d);
    row[C] = 1;
    row[P] = i;
    row[P2] = i * i;
    row[FIRST] = i === 0 ? 1 : 0;
    row[pos(tags[i]!)] = 1;
    for (let k = 0; k < ID_DIMS; k++) row[ID + k] = 0.5 * identity[i * ID_DIMS + k]!;
  });
  return { x, tags };
}

/** One layer's weights (the same in every layer), PyTorch layout [out, in]. */
export function chapterLayer(): LayerTensors {
  const { heads, dHead, dModel } = CHAPTER_CONFIG;
  const inner = heads * dHead;
  const s = Math.sqrt(dHead);
  const q = new Float32Array(inner * dModel), k = new Float32Array(inner * dModel), v = new Float32Array(inner * dModel), o = new Float32Array(dModel * inner);
  // One query/key row pair: score += weight·(Σ queryDims)·(key dim).
  let used = new Array<number>(heads).fill(0);
  const term = (head: number, queryDims: [number, number][], keyDim: number) => {
    const r = head * dHead + used[head]!++;
    for (const [dim, w] of queryDims) q[r * dModel + dim] = s * w;
    k[r * dModel + keyDim] = 1;
  };
  const c = 3;
  // Head 0: nouns look at adjectives (nearer ones more), or the first token; others at the first token.
  term(0, [[pos('noun'), 10]], pos('adjective'));
  term(0, [[pos('noun'), 0.25]], P);
  term(0, [[pos('noun'), 4], ...TAGS.filter((t) => t !== 'noun').map((t): [number, number] => [pos(t), 10])], FIRST);
  // Head 1: previous token, −c(i − 1 − j)² up to terms constant in the row.
  term(1, [[P, 2 * c], [C, -2 * c]], P);
  term(1, [[C, -c]], P2);
  // Head 2: the first token.
  term(2, [[C, 10]], FIRST);
  // Head 3: itself, −c(i − j)².
  term(3, [[P, 2 * c]], P);
  term(3, [[C, -c]], P2);
  used = [];
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < ID_DIMS && r < dHead; r++) v[(h * dHead + r) * dModel + ID + r] = 1;
    for (let r = 0; r < 8; r++) o[(OUT + 8 * h + r) * inner + h * dHead + r] = 0.5;
  }
  return { q, k, v, o };
}

export function chapterExample(ids: number[], strings: string[], seed: number): ChapterExample {
  const { x, tags } = chapterEmbeddings(ids, strings, seed);
  const layer = chapterLayer();
  return { inputs: { x, context: null }, layers: Array.from({ length: CHAPTER_CONFIG.layers }, () => layer), tags };
}

/** The example's configuration for `seq` tokens. */
export const chapterConfig = (seq: number, maxSeq: number): AttentionConfig => ({ ...SMALL, ...CHAPTER_CONFIG, seq, kvSeq: seq, maxSeq: Math.max(maxSeq, seq) });
