// Every random input of the tests comes from here, so a failing case can be replayed from the seed its
// message prints (test/conventions.test.ts holds test/ to it: no Math.random or Date.now anywhere else).

/**
 * The project's seeded generator (src/model/seeded.ts): uniform in [0, 1), so a failing case can
 * be replayed from its seed; freshSeed gives a new seed per run (print it with the failure).
 */
export { freshSeed, seededSequence as rng } from '../../src/model/seeded.js';

/** `n` values uniform in ±scale from a seeded generator (rng). */
export function uniformArray(rand: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * scale;
  return out;
}
