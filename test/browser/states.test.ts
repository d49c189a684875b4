// @module-tag slow (headless Chromium): `npm test` runs it, `npm run test:fast` does not.
// The page's states and failures on SwiftShader: stale results marked during a new run and
// cleared by an error, messages in the page's words, no WebGPU / no adapter explained for
// browser users at load, a lost device, weights files (picked, dropped, refused), the GPT-3
// presets and estimate, and labels at 128 tokens. Screenshots: test/out/.

import type { Browser, Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { serializeSafetensors } from '../../src/index.js';
import { seededArray, streamKey } from '../../src/model/seeded.js';
import { lastRun, pageText, useBrowser, waitForOutcome } from './page-helpers.js';
import { OUT_FILE, startServer } from './server.js';

const SMALL_RUN = '?layers=2&heads=2&d-model=64&d-head=32&seed=3&autorun=1';
const server = startServer(import.meta.filename);

/** A 2-layer weights file: d_model 32, inner width 32, with optional metadata. */
function weightsFile(metadata?: Record<string, string>): Buffer {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  let stream = 0;
  for (let l = 0; l < 2; l++) {
    for (const p of ['q', 'k', 'v', 'o']) tensors[`layers.${l}.self_attn.${p}_proj.weight`] = { shape: [32, 32], data: seededArray(streamKey(5, stream++), 32 * 32, 0.3) };
  }
  return Buffer.from(serializeSafetensors(tensors, metadata));
}

let browser: Browser;
useBrowser('swiftshader', (launched) => (browser = launched));

async function fresh(viewport = { width: 1100, height: 900 }): Promise<Page> {
  return browser.newPage({ viewport });
}

describe('states and errors', () => {
  test('a new run marks the previous results; an error clears them, in the page\'s words', async () => {
    const page = await fresh();
    await page.goto(server.url() + SMALL_RUN);
    expect((await waitForOutcome(page, 60_000)).verification).toMatch(/^passed/);
    await page.click('#run');
    expect(await page.evaluate(() => ['results', 'patterns', 'chapter-panel'].map((id) => document.getElementById(id)!.dataset.stale))).toEqual(['true', 'true', 'true']);
    await page.screenshot({ path: OUT_FILE('stale-swiftshader.png') });
    expect((await waitForOutcome(page, 60_000)).verification).toMatch(/^passed/);
    expect(await page.evaluate(() => document.getElementById('results')!.dataset.stale)).toBeUndefined();

    await page.fill('input[name=d-head]', '');
    await page.dispatchEvent('input[name=d-head]', 'change');
    await page.click('#run');
    const outcome = await waitForOutcome(page, 30_000);
    expect(outcome.error).toBe('Configuration error: “d_head” must be a positive integer, got an empty or non-numeric value');
    expect(await page.isHidden('#results')).toBe(true);
    expect(await page.isHidden('#patterns')).toBe(true);
    expect(await pageText(page, 'progress-text')).toBe('failed');
    expect((await lastRun(page)).config.dHead).toBe(32); // lastRun: the last run that finished
    await page.screenshot({ path: OUT_FILE('error-swiftshader.png') });
    await page.close();
  });

  test('no WebGPU and no adapter are explained at load, for browser users', async () => {
    const page = await fresh();
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    await page.goto(server.url());
    await page.waitForSelector('#error:not([hidden])', { timeout: 20_000 });
    const text = await pageText(page, 'error');
    expect(text).toMatch(/^This browser does not offer WebGPU.*Chrome and Edge 113.*Safari 26.*Firefox 141/);
    expect(text).not.toMatch(/npm|scripts\/|--/);
    expect(await pageText(page, 'adapter')).toBe('adapter: none (see the message above)');
    await page.close();

    const page2 = await fresh();
    await page2.addInitScript(() => (GPU.prototype.requestAdapter = async () => null));
    await page2.goto(server.url());
    await page2.waitForSelector('#error:not([hidden])', { timeout: 20_000 });
    expect(await pageText(page2, 'error')).toMatch(/^This browser has WebGPU but offers no GPU adapter.*chrome:\/\/gpu/);
    await page2.screenshot({ path: OUT_FILE('no-adapter-swiftshader.png') });
    await page2.close();
  });

  test('a lost device is reported, and the next run starts on a new one', async () => {
    const page = await fresh();
    await page.addInitScript(() => {
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, d?: GPUDeviceDescriptor) {
        const device = await request.call(this, d);
        (window as unknown as { __devices: GPUDevice[] }).__devices = [device];
        return device;
      };
    });
    await page.goto(server.url() + SMALL_RUN);
    expect((await waitForOutcome(page, 60_000)).verification).toMatch(/^passed/);
    await page.evaluate(() => (window as unknown as { __devices: GPUDevice[] }).__devices[0]!.destroy());
    await page.waitForSelector('#error:not([hidden])', { timeout: 10_000 });
    expect(await pageText(page, 'error')).toMatch(/GPU device was lost/);
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('error')!.hidden, null, { timeout: 10_000 });
    expect((await waitForOutcome(page, 60_000)).verification).toMatch(/^passed/);
    await page.close();
  });
});

describe('weights files', () => {
  test('a picked file runs and verifies with its own tensors; the page says which weights ran', async () => {
    const page = await fresh();
    await page.goto(server.url() + '?verify=exact');
    await page.setInputFiles('#weights-file', { name: 'tiny.safetensors', mimeType: 'application/octet-stream', buffer: weightsFile({ heads: '4' }) });
    await page.waitForFunction(() => (document.querySelector('input[name=weights][value=file]') as HTMLInputElement).checked);
    expect(await pageText(page, 'weights-file-info')).toMatch(/^tiny\.safetensors: 2 layer\(s\), d_model 32, inner width 32 \(4 heads, from its metadata\)/);
    expect(await page.inputValue('input[name=d-model]')).toBe('32');
    expect(await page.isDisabled('input[name=d-model]')).toBe(true);
    await page.click('#run');
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.error, outcome.error).toBe('');
    expect(outcome.verification).toMatch(/^passed/);
    const r = await lastRun(page);
    expect(r.weights).toBe('the file tiny.safetensors');
    expect(r.config).toMatchObject({ layers: 2, dModel: 32, heads: 4, dHead: 8 });
    expect(await pageText(page, 'weights-note')).toBe('Weights: the file tiny.safetensors.');
    expect(await page.isVisible('#share-note')).toBe(true);
    await page.screenshot({ path: OUT_FILE('weights-file-swiftshader.png'), fullPage: true });

    // Without metadata the form splits the inner width; a split that does not divide it is an error naming both.
    await page.setInputFiles('#weights-file', { name: 'plain.safetensors', mimeType: 'application/octet-stream', buffer: weightsFile() });
    await page.waitForFunction(() => /^plain\.safetensors/.test(document.getElementById('weights-file-info')!.textContent ?? ''));
    await page.fill('input[name=heads]', '3');
    await page.dispatchEvent('input[name=heads]', 'change');
    await page.click('#run');
    expect((await waitForOutcome(page, 30_000)).error).toMatch(/^“heads” \(3\) must divide the weights file's inner width 32/);
    await page.close();
  });

  test('a dropped file is read; a malformed or contradictory one is refused with the reader\'s rule', async () => {
    const page = await fresh();
    await page.goto(server.url());
    const drop = async (name: string, bytes: Buffer) =>
      page.evaluate(([n, b]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(b as number[])], n as string));
        document.getElementById('weights-drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, [name, [...bytes]] as const);
    await drop('dropped.safetensors', weightsFile());
    await page.waitForFunction(() => /^dropped\.safetensors: 2 layer/.test(document.getElementById('weights-file-info')!.textContent ?? ''));
    // heads from the form (4, the small preset): d_head = 32 / 4.
    expect(await page.inputValue('input[name=d-head]')).toBe('8');

    await drop('cut.safetensors', weightsFile().subarray(0, 200));
    await page.waitForSelector('#error:not([hidden])');
    expect(await pageText(page, 'error')).toMatch(/^The weights file was refused: cut\.safetensors/);
    expect(await page.isChecked('input[name=weights][value=seeded]')).toBe(true);

    await drop('odd.safetensors', weightsFile({ heads: '3' }));
    await page.waitForFunction(() => /metadata splits the inner width 32/.test(document.getElementById('error')!.textContent ?? ''));
    await page.close();
  });
});

describe('GPT-3 and crowded patterns', () => {
  test('the GPT-3 preset names its real attention parameters, estimates before Run from a rate measured here, and offers only what it would run', async () => {
    const page = await fresh();
    await page.goto(server.url() + '?preset=gpt3');
    expect(await page.textContent('select[name=preset] option[value=gpt3]')).toMatch(/58\.0 B parameters/);
    await page.waitForFunction(() => /measured here/.test(document.getElementById('estimate')!.textContent ?? ''), null, { timeout: 60_000 });
    expect(await pageText(page, 'estimate')).toMatch(
      /^Estimate: [\d.]+ [TP]FLOP, 58\.0 G attention weights, GPU memory [\d.]+ [GM]iB; time ≈\d+ min on this software adapter \(at the [\d.]+ [kMG]?FLOP\/s measured here by a probe at d_model 512\)\.$/);
    const rates = await page.evaluate(() => window.webgpuAttention.rates!);
    expect(rates.samples[0]!.flopsPerS).toBeGreaterThan(1e6);
    await page.click('#run');
    const outcome = await waitForOutcome(page, 30_000);
    expect(outcome.errorKind).toBe('too-slow');
    expect(outcome.error).toMatch(/at the rate measured here.*run even if slow/);
    const offer = (await page.textContent('#error-action'))!;
    expect(offer).toMatch(/^Use /);
    expect(outcome.error).toContain(`"${offer.slice(4)}" takes about`);
    console.info(`GPT-3 refused at ${(rates.samples[0]!.flopsPerS / 1e6).toFixed(0)} MFLOP/s (probe); offered: ${offer}`);
    await page.click('#error-action');
    expect(await page.inputValue('select[name=preset]')).toBe(offer.includes('small default') ? 'small' : 'gpt3-widths');
    // What it offered is what its own estimate lets through: at most two minutes here (and so not refused).
    await page.waitForFunction(() => window.webgpuAttention.estimate?.config.layers !== 96 && /measured here/.test(document.getElementById('estimate')!.textContent ?? ''));
    const after = await page.evaluate(() => window.webgpuAttention.estimate!);
    expect(after.seconds).not.toBeNull();
    expect(after.seconds!).toBeLessThanOrEqual(120);
    expect(await pageText(page, 'estimate')).toMatch(/time ≈[\d.]+ m?s on this software adapter/);
    await page.screenshot({ path: OUT_FILE('gpt3-swiftshader.png') });
    await page.close();
  });

  test('128 tokens: labels thinned, never overlapping, at 12 CSS px', async () => {
    const page = await fresh();
    const text = Array.from({ length: 16 }, (_, i) => `the ${i % 2 ? 'small' : 'green'} owl saw a quiet river`).join(' ').split(' ').slice(0, 120).join(' ');
    await page.goto(server.url() + `?layers=1&heads=1&d-model=32&d-head=16&verify=none&autorun=1&text=${encodeURIComponent(text)}`);
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.error).toBe('');
    const h = await page.evaluate(() => window.webgpuAttention.heatmap!);
    expect(h.rows).toBeGreaterThan(100);
    expect(h.labelStep).toBeGreaterThan(1);
    expect(h.cell * h.labelStep).toBeGreaterThanOrEqual(14);
    await page.screenshot({ path: OUT_FILE('tokens-128-swiftshader.png'), fullPage: true });
    await page.close();
  });
});
