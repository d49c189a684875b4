// A checkpoint at GPT-2 small's widths (124 M parameters, one 523 MiB F32 model.safetensors with
// random weights, test/golden/checkpoints/make_checkpoints.py --gpt2-small-shaped; GPT-2's own
// tokenizer.json rebuilt from js-tiktoken's ranks, test/io/gpt2-tokenizer.ts) opened in the page
// in headless Chromium on a software adapter, and run: how long the page takes to open it (every
// header, config.json, tokenizer.json), to read its embedding tables, to run the 12 layers (the
// whole block) and to verify them in the worker. Made at run time in --dir (not committed).
//   node bench/run-page-checkpoint.mjs [--dir /tmp/gpt2-small-shaped] [--profile swiftshader|compat]
//     [--verify exact|none] [--runs 2] [--text "a fluffy blue creature"] [--generate N]

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildWeb } from '../scripts/build-web.mjs';
import { serve } from '../scripts/serve.mjs';
import { launch, type Profile } from '../test/browser/chromium.js';
import { gpt2TokenizerJson } from '../test/io/gpt2-tokenizer.js';
import type { PageData } from '../web/app.js';

const { values: flags } = parseArgs({
  options: {
    dir: { type: 'string', default: join(tmpdir(), 'gpt2-small-shaped') },
    profile: { type: 'string', default: 'swiftshader' },
    verify: { type: 'string', default: 'exact' },
    runs: { type: 'string', default: '2' },
    text: { type: 'string', default: 'a fluffy blue creature' },
    // Then Generate this many tokens with verification none (decode timing), 0 to skip.
    generate: { type: 'string', default: '0' },
  },
});
const dir = flags.dir;
const root = new URL('..', import.meta.url).pathname;

if (!existsSync(join(dir, 'model.safetensors'))) {
  const made = spawnSync('python3', [join(root, 'test/golden/checkpoints/make_checkpoints.py'), '--gpt2-small-shaped', dir], { stdio: ['ignore', 2, 2] }); // stdout is the JSON's
  if (made.status !== 0) throw new Error('make_checkpoints.py --gpt2-small-shaped failed');
}
if (!existsSync(join(dir, 'tokenizer.json'))) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson()));

const web = mkdtempSync(join(tmpdir(), 'page-bench-'));
await buildWeb({ outdir: web });
const server = await serve({ port: 0, dir: web });
const browser = await launch(flags.profile as Profile);
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(`${server.url}?verify=${flags.verify === 'none' ? 'none' : 'exact'}`);
  await page.waitForFunction(() => document.getElementById('adapter')?.textContent !== 'adapter: requesting…');
  const adapter = await page.textContent('#adapter');
  const t0 = Date.now();
  await page.setInputFiles('#checkpoint-folder', dir);
  await page.waitForFunction(() => (window as unknown as { webgpuAttention: PageData }).webgpuAttention.checkpoint !== null || !document.getElementById('error')!.hidden, null, { timeout: 600_000 });
  const loadWallMs = Date.now() - t0;
  const error = await page.evaluate(() => (document.getElementById('error')!.hidden ? '' : document.getElementById('error')!.textContent));
  if (error) throw new Error(`the page refused the checkpoint: ${error}`);
  const opened = await page.evaluate(() => window.webgpuAttention.checkpoint!.openMs);
  await page.fill('input[name=text]', flags.text);
  // The estimate shown before Run (from the rates measured on this adapter), to set beside the run's own time.
  await page.waitForFunction(() => window.webgpuAttention.estimate?.seconds != null, null, { timeout: 120_000 }).catch(() => undefined);
  const estimate = await page.evaluate(() => ({ text: document.getElementById('estimate')!.textContent, seconds: window.webgpuAttention.estimate?.seconds ?? null }));
  const runs = [];
  for (let k = 0; k < Number(flags.runs); k++) {
    const t1 = Date.now();
    await page.click('#run');
    await page.waitForFunction(() => {
      const d = window.webgpuAttention;
      return !document.getElementById('error')!.hidden || (d.state === 'done' && d.lastRun !== null && /^(passed|failed|refused|not verified)/.test(document.getElementById('verification')!.textContent ?? ''));
    }, null, { timeout: 600_000, polling: 200 });
    const wallMs = Date.now() - t1;
    const r = await page.evaluate(() => {
      const run = window.webgpuAttention.lastRun!;
      return {
        error: document.getElementById('error')!.hidden ? '' : document.getElementById('error')!.textContent,
        tokens: run.tokens?.ids, scanMs: run.checkpoint?.scanMs, tablesMs: run.checkpoint?.tablesMs, totalMs: run.timings.totalMs, gpuMs: run.timings.gpuMs, prepareMs: run.timings.prepareMs,
        timingSource: run.timings.source, verification: run.verification.text, verifyMs: run.verification.ms, next: run.nextTokens?.slice(0, 3),
      };
    });
    if (r.error) throw new Error(`the run failed: ${r.error}`);
    runs.push({ wallMs, ...r });
    // So that the next run's wait cannot see this run's result.
    await page.evaluate(() => (window.webgpuAttention.lastRun = null));
  }
  let generation = null;
  if (Number(flags.generate) > 0) {
    // Decode timing: verification none (a verified step waits for the GPU after every layer).
    await page.selectOption('select[name=verify]', 'none');
    await page.uncheck('input[name=rows]');
    await page.fill('input[name=steps]', String(flags.generate));
    await page.dispatchEvent('input[name=steps]', 'change');
    const t2 = Date.now();
    await page.click('#generate');
    await page.waitForFunction(() => window.webgpuAttention.lastGenerate !== null || !document.getElementById('error')!.hidden, null, { timeout: 600_000, polling: 200 });
    const wallMs = Date.now() - t2;
    generation = await page.evaluate(() => {
      const g = window.webgpuAttention.lastGenerate;
      if (!g) return { error: document.getElementById('error')!.textContent };
      return { generated: g.generated, text: g.text, tokensPerSecond: g.tokensPerSecond, bytesPerStep: g.bytesPerStep, gbPerSecond: g.gbPerSecond, stepsMs: g.steps.map((s) => s.ms), n: g.steps.map((s) => s.n) };
    });
    generation = { wallMs, ...generation };
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), adapter, profile: flags.profile, dir, loadWallMs, openMs: opened, estimate, runs, generation }, null, 1));
} finally {
  await browser.close();
  await server.close();
  rmSync(web, { recursive: true, force: true });
}
