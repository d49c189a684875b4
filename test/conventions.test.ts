// What every test file keeps to, read from the files themselves (README, "Tests: two tiers"): random inputs from the
// seed helpers (test/helpers/seeds.ts), so a failure can be replayed from the seed it prints (no test file draws from
// Math.random or Date.now; performance.now only times things); a test that needs an adapter feature skips with the
// reason (skipWithout in test/helpers/gpu.ts), never returns early and passes; the command run through
// test/helpers/cli.ts (its tune folder and HOME), never spawned or built by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('.', import.meta.url).pathname;
// Built from parts so that this file does not match itself.
const unseeded = new RegExp(['Math\\.random', 'Date\\.now'].map((f) => `\\b${f}\\s*\\(`).join('|'));

/** Lines of test files (test/…:line: text) matching `pattern`, but for the files `except`. */
function linesMatching(pattern: RegExp, except: string[] = []): string[] {
  const found: string[] = [];
  for (const f of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(ts|mjs|js)$/.test(f) || except.includes(f)) continue;
    readFileSync(join(root, f), 'utf8').split('\n').forEach((line, i) => {
      if (pattern.test(line)) found.push(`test/${f}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

it('no test draws inputs from Math.random or the clock (Date.now)', () => {
  expect(linesMatching(unseeded), 'use freshSeed and rng from test/helpers/seeds.ts (and print the seed)').toEqual([]);
});

it('no test returns early, and so passes, where the adapter lacks a feature', () => {
  const early = new RegExp(['has' + 'F16', 'has' + 'Subgroups', 'available'].map((f) => `!\\S*${f}\\)\\s*return\\b`).join('|'));
  expect(linesMatching(early), 'skip with the reason: skipWithout(t, gpu, feature) from test/helpers/gpu.ts').toEqual([]);
});

it('every CLI test runs the command through test/helpers/cli.ts', () => {
  // The package test runs the installed command through npx, as a user of the package does; build-once.ts builds
  // dist/ once a run (vitest's globalSetup).
  const bundle = new RegExp(['dist/cli', 'mjs'].join('\\.') + "|\\bbuild" + 'All\\(');
  expect(linesMatching(bundle, ['helpers/cli.ts', 'helpers/build-once.ts', 'package/pack.test.ts']), 'use cli, runCli and spawnCli from test/helpers/cli.ts').toEqual([]);
});

it('no test changes the process: its environment, working folder or globals', () => {
  // `npm run test:fast` runs many files in one worker (vitest.config.ts, isolate: false): a change here would leak
  // into whichever file runs next. Children get their environment through test/helpers/cli.ts's cliEnv instead.
  const mutation = new RegExp([
    'process\\.env(\\.\\w+|\\[[^\\]]+\\])\\s*=(?!=)', 'delete\\s+process\\.env', 'process\\.' + 'chdir\\(',
    'globalThis\\.\\w+\\s*=(?!=)', 'vi\\.stub' + '(Env|Global)\\(', 'process\\.on\\(',
  ].join('|'));
  expect(linesMatching(mutation), 'pass settings to the code under test; give children an environment of their own').toEqual([]);
});
