// @module-tag slow (headless Chromium): `npm test` runs it, `npm run test:fast` does not.
// issue 21, item 9, on SwiftShader: the time the page estimates before Run comes from rates it
// measured on this adapter and lands near what the run then takes; a run's own timings update
// the rates for its width.

import type { Browser } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { lastRun, useBrowser, waitForOutcome } from './page-helpers.js';
import { startServer } from './server.js';

const server = startServer(import.meta.filename);
let browser: Browser;
useBrowser('swiftshader', (launched) => (browser = launched));

describe('the estimate on SwiftShader', () => {
  test('a run at twice the probe\'s width takes within 4× of the time estimated from the probe; afterwards its own rate prices its width', async () => {
    const page = await browser.newPage();
    await page.goto(server.url() + '?layers=2&heads=8&d-head=128&d-model=1024&input=seeded&verify=none&autorun=1');
    const before = await page.evaluate(async () => {
      while (!window.webgpuAttention.estimate?.seconds) await new Promise((r) => setTimeout(r, 100));
      return window.webgpuAttention.estimate;
    });
    expect(before.config.dModel).toBe(1024);
    const outcome = await waitForOutcome(page, 240_000);
    expect(outcome.error).toBe('');
    const run = await lastRun(page);
    const tookS = (run.timings.gpuMs + run.timings.weightsMs) / 1000;
    const ratio = before.seconds! / tookS;
    console.info(`estimate ${before!.seconds!.toFixed(2)} s from the probe, run ${tookS.toFixed(2)} s of GPU time (ratio ${ratio.toFixed(2)})`);
    expect(ratio, `estimated ${before!.seconds!.toFixed(2)} s, took ${tookS.toFixed(2)} s of GPU time`).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan(4);
    const rates = await page.evaluate(() => window.webgpuAttention.rates!);
    expect(rates.samples.map((s) => [s.dModel, s.from])).toEqual([[512, 'probe'], [1024, 'run']]);
    await page.close();
  });
});
