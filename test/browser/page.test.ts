// The browser page end to end: build dist/web, serve it on a free port, load it in headless
// Chromium on a software WebGPU adapter (SwiftShader, full profile; ANGLE on lavapipe,
// compatibility profile), run a small stack with autorun=1, and check the verification, the
// read-back patterns, the pixels of the heatmap, and the error paths. Screenshots: test/out/.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildWeb } from '../../scripts/build-web.mjs';
import { serve } from '../../scripts/serve.mjs';
import { launch, type Profile } from './chromium.js';
import { cellPixels, pageData, waitForOutcome, type Outcome } from './page-helpers.js';

const OUT = join(import.meta.dirname, '..', 'out');
// GPT-3's r50k_base split of the default sentence: seq = 11.
const SENTENCE_IDS = [64, 39145, 4171, 7185, 686, 2434, 262, 3326, 67, 415, 8222];
const SMALL_RUN = '?layers=2&heads=2&d-model=64&d-head=32&seed=3&autorun=1';

let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  await buildWeb();
  server = await serve({ port: 0 });
});
afterAll(() => server?.close());

describe.each<Profile>(['swiftshader', 'compat'])('page on %s', (profile) => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launch(profile);
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
  });
  afterAll(() => browser?.close());

  test('runs, verifies against the CPU reference, and draws the read-back patterns', async () => {
    await page.goto(server.url + SMALL_RUN);
    const outcome: Outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed: max abs error/);
    expect(outcome.verification).toMatch(/tolerance atol/);
    expect(errors).toEqual([]);

    const d = await pageData(page);
    expect(d.tokens).toEqual(SENTENCE_IDS);
    expect(d.config).toMatchObject({ layers: 2, heads: 2, dModel: 64, dHead: 32, seq: 11, contextSeq: 11, mask: true, cross: false });
    expect(d.adapterText).toMatch(/^adapter: \S/);
    expect(d.progress).toBe('done: 2/2 layers');
    expect(d.patternShape).toEqual([2, 2, 121]);

    // Every row a distribution; masked cells exactly 0.
    for (const head of d.patterns.flat()) {
      for (let i = 0; i < 11; i++) {
        const row = head.slice(i * 11, i * 11 + 11);
        expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
        expect(row.slice(i + 1).every((v) => v === 0)).toBe(true);
      }
    }

    for (const [layer, head] of [[0, 0], [1, 1]] as const) {
      await page.selectOption('#layer-pick', String(layer));
      await page.selectOption('#head-pick', String(head));
      const px = await cellPixels(page);
      expect([px.layer, px.head]).toEqual([layer, head]);
      // The heatmap shows exactly what was read back from the GPU for this layer and head.
      expect(px.values).toEqual(d.patterns[layer]![head]);
      const distinct = new Set<string>();
      for (const c of px.cells) {
        if (c.masked) {
          expect(c.rgb[0] === c.rgb[1] && c.rgb[1] === c.rgb[2], `masked cell ${c.row},${c.col} is grey`).toBe(true);
          expect([px.masked[0], px.hatch[0]]).toContain(c.rgb[0]);
        } else {
          for (let k = 0; k < 3; k++) expect(Math.abs(c.rgb[k]! - c.expected[k]!), `cell ${c.row},${c.col}`).toBeLessThanOrEqual(2);
          expect(c.rgb[0] === c.rgb[1] && c.rgb[1] === c.rgb[2]).toBe(false);
          distinct.add(c.rgb.join());
        }
      }
      // Colours follow the values: a flat heatmap would pass the checks above only if the pattern were flat.
      expect(distinct.size).toBeGreaterThan(10);
    }
    await page.selectOption('#layer-pick', '0');
    await page.selectOption('#head-pick', '0');
    await page.screenshot({ path: join(OUT, `page-${profile}.png`), fullPage: true });
  });

  test('the fused attention core verifies too, and says why no pattern is drawn', async () => {
    await page.goto(server.url + SMALL_RUN + '&attention=fused');
    const outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed: max abs error/);
    expect((await pageData(page)).patternShape).toBeNull();
    expect(await page.textContent('#patterns-note')).toMatch(/fused attention never stores them/);
    expect(await page.inputValue('select[name=attention]')).toBe('fused');
  });

  test('a configuration over the adapter limits shows an error, not a blank page', async () => {
    // x alone is 2048 × 262144 floats = 2 GiB: over both software adapters' storage binding (1 GiB, 128 MiB).
    await page.goto(server.url + '?input=seeded&layers=1&heads=1&d-head=64&seq=2048&d-model=262144&verify=none&autorun=1');
    const outcome = await waitForOutcome(page, 30_000);
    expect(outcome.error).toMatch(/^Over the limits: x \(residual stream\).*maxStorageBufferBindingSize/);
    expect(outcome.errorKind).toBe('InputError');
    expect(outcome.verification).toMatch(/^not verified/);
    await page.screenshot({ path: join(OUT, `limits-${profile}.png`) });
  });
});

describe('page failures (SwiftShader)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch('swiftshader');
  });
  afterAll(() => browser?.close());

  test('an invalid configuration names the flag', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '?heads=0&autorun=1');
    const outcome = await waitForOutcome(page, 30_000);
    expect(outcome.error).toMatch(/^Configuration error: --heads must be a positive integer, got 0/);
    await page.close();
  });

  test('no navigator.gpu and no adapter are explained', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    await page.goto(server.url + SMALL_RUN);
    expect((await waitForOutcome(page, 30_000)).error).toMatch(/navigator\.gpu is undefined/);
    await page.close();

    const page2 = await browser.newPage();
    await page2.addInitScript(() => (GPU.prototype.requestAdapter = async () => null));
    await page2.goto(server.url + SMALL_RUN);
    expect((await waitForOutcome(page2, 30_000)).error).toMatch(/^GPU error \(no-adapter\): No WebGPU adapter found/);
    await page2.close();
  });

  test('a lost device is reported, and the next run starts on a new one', async () => {
    const page = await browser.newPage();
    // Keep a handle on every device the page creates, to lose it from outside.
    await page.addInitScript(() => {
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, d?: GPUDeviceDescriptor) {
        const device = await request.call(this, d);
        (window as unknown as { __devices: GPUDevice[] }).__devices = [device];
        return device;
      };
    });
    await page.goto(server.url + SMALL_RUN);
    expect((await waitForOutcome(page, 60_000)).verification).toMatch(/^passed/);
    await page.evaluate(() => (window as unknown as { __devices: GPUDevice[] }).__devices[0]!.destroy());
    await page.waitForSelector('#error:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#error')).toMatch(/GPU device lost/);
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('error')!.hidden, null, { timeout: 10_000 });
    expect((await waitForOutcome(page, 60_000)).verification).toMatch(/^passed/);
    await page.close();
  });
});
