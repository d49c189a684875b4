// Token embeddings for the browser's pattern view: each token id owns a seeded stream, so the
// same token always maps to the same row and the CPU reference can regenerate the input.
// Streams 0x40000000 + id sit far above the input (0, 1) and weight (16 + 8·layer + slot) streams.

import { seededArray, streamKey } from './seeded.js';

export const TOKEN_STREAM_BASE = 0x40000000;

/** [tokenIds.length, dModel], row t = U(-1, 1) values of token tokenIds[t]'s stream. */
export function tokenEmbeddings(tokenIds: number[], dModel: number, seed: number): Float32Array {
  const out = new Float32Array(tokenIds.length * dModel);
  tokenIds.forEach((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= TOKEN_STREAM_BASE) throw new RangeError(`token id ${id} is not a vocabulary index`);
    out.set(seededArray(streamKey(seed, TOKEN_STREAM_BASE + id), dModel, 1), t * dModel);
  });
  return out;
}
