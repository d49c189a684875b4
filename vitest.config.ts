import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Import .wgsl files as text, as esbuild's `text` loader does for the bundles.
const wgslAsText = {
  name: 'wgsl-as-text',
  transform(_code: string, id: string) {
    if (!id.endsWith('.wgsl')) return null;
    return { code: `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`, map: null };
  },
};

// Two tiers. A test file that drives Chromium, soaks, installs the package, dry-runs the device check or runs stacks at
// GPT-3's depth says so in its header with vitest's file tag `// @module-tag slow` (and why); a single test of that
// kind in another file carries the tag itself (`{ tags: ['slow'] }`). `npm run test:fast` runs the `fast` project (the
// files without the file tag) less the tagged tests; `npm test` runs everything. The tags are the only list.
const testFiles = readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('test', f));
const slowFiles = testFiles.filter((f) => /^\/\/\s*@module-tag\s+slow\b/m.test(readFileSync(f, 'utf8')));

// No test reads or writes the user's caches: the tuning store (src/node/tune-store.ts) gets a folder of this run's
// own, and Mesa's shader cache (lavapipe) and anything else following XDG_CACHE_HOME one under the system's temporary
// folder, kept between runs so compiled shaders stay warm.
const env = {
  WEBGPU_ATTENTION_TUNE_DIR: mkdtempSync(join(tmpdir(), 'wa-test-tune-')),
  XDG_CACHE_HOME: join(tmpdir(), 'webgpu-attention-test-cache'),
};

// CI (.ci/run) asks for a JSON report beside the usual output through this variable, so that it runs exactly
// `npm test` and can still check that nothing was skipped quietly (scripts/check-skips.mjs).
const jsonReport = process.env.WEBGPU_ATTENTION_TEST_REPORT;

export default defineConfig({
  plugins: [wgslAsText],
  test: {
    ...(jsonReport ? { reporters: ['default', 'json'], outputFile: { json: jsonReport } } : {}),
    globalSetup: ['test/helpers/build-once.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env,
    tags: [{ name: 'slow', description: 'Chromium, the soak, the package install, the device-check dry run, stacks at GPT-3 depth: `npm test` only' }],
    projects: [
      // The inner loop reuses each worker's module graph across files (isolate: false): importing the engine, Dawn and
      // the tokenizer once a worker instead of once a file takes ≈13 s off a one-minute run on two cores. No test
      // changes globals or the environment (test/conventions.test.ts holds them to that), and every GPU test makes
      // its own device (test/helpers/gpu.ts), so files stay independent; `npm test` keeps full isolation.
      { extends: true, test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: slowFiles, isolate: false } },
      { extends: true, test: { name: 'slow', include: slowFiles.length ? slowFiles : ['no-slow-files'] } },
    ],
  },
});
