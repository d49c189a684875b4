// Every random input of the tests from the seed helpers (test/helpers/seeds.ts), so a failure can be replayed from
// the seed it prints: no test file draws from Math.random or Date.now; performance.now only times things.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('.', import.meta.url).pathname;
// Built from parts so that this file does not match itself.
const unseeded = new RegExp(['Math\\.random', 'Date\\.now'].map((f) => `\\b${f}\\s*\\(`).join('|'));

it('no test draws inputs from Math.random or the clock (Date.now)', () => {
  const offenders: string[] = [];
  for (const f of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(ts|mjs|js)$/.test(f)) continue;
    readFileSync(join(root, f), 'utf8').split('\n').forEach((line, i) => {
      if (unseeded.test(line)) offenders.push(`test/${f}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(offenders, 'use freshSeed and rng from test/helpers/seeds.ts (and print the seed)').toEqual([]);
});
