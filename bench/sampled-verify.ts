// Times one Freivalds check at GPT-3 width on the CPU: regenerating a 12288×12288 seeded weight
// while forming Wᵀ·r for 4 sign vectors, then the whole check of Q = X·W_Qᵀ at seq 2048.
//   npx esbuild bench/sampled-verify.ts --bundle --platform=node --format=esm --outfile=/tmp/sv.mjs && node /tmp/sv.mjs
import { seededArray, seededTensor, STREAM_INPUT, streamKey } from '../src/model/seeded.js';
import { freivalds, signVectors, transposedProducts } from '../src/verify/freivalds.js';

const N = 12288, K = 12288, M = 2048;
const a = seededArray(streamKey(1, STREAM_INPUT), M * K, 1);
const c = seededArray(streamKey(2, STREAM_INPUT), M * N, 1);
const { key, scale } = seededTensor(1, 0, 'q', false, { heads: 96, dHead: 128, dModel: K });
const w = { kind: 'seeded' as const, key, scale };
let t = performance.now();
transposedProducts(w, N, K, signVectors(3, N, 4));
const regenMs = performance.now() - t;
t = performance.now();
freivalds({ name: 'Q', a, c, M, N, K, w, key: 9, vectors: 4 });
const checkMs = performance.now() - t;
console.log(JSON.stringify({ what: 'Freivalds at GPT-3 width', N, K, M, regenerationMs: Math.round(regenMs), wholeCheckMs: Math.round(checkMs) }));
