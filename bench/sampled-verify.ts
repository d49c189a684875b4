// Times one Freivalds check at GPT-3 width on the CPU: regenerating a 12288×12288 seeded weight
// while forming Wᵀ·r for 4 sign vectors, then the whole check of Q = X·W_Qᵀ at seq 2048.
//   npx esbuild bench/sampled-verify.ts --bundle --platform=node --format=esm --outfile=/tmp/sv.mjs && node /tmp/sv.mjs
import { streamKey, weightScale, weightStream } from '../src/model/seeded.js';
import { freivalds, signVectors, transposedProducts } from '../src/verify/freivalds.js';

const N = 12288, K = 12288, M = 2048;
let s = 1;
const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const a = Float32Array.from({ length: M * K }, next);
const c = Float32Array.from({ length: M * N }, next);
const w = { kind: 'seeded' as const, key: streamKey(1, weightStream(0, 'q')), scale: weightScale(K) };
let t = performance.now();
transposedProducts(w, N, K, signVectors(3, N, 4));
const regenMs = performance.now() - t;
t = performance.now();
freivalds({ name: 'Q', a, c, M, N, K, w, key: 9, vectors: 4 });
const checkMs = performance.now() - t;
console.log(JSON.stringify({ what: 'Freivalds at GPT-3 width', N, K, M, regenerationMs: Math.round(regenMs), wholeCheckMs: Math.round(checkMs) }));
