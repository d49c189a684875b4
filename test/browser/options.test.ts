// @module-tag slow (headless Chromium): `npm test` runs it, `npm run test:fast` does not.
// Normalisation and precision in the page, on both profiles: a pre-LayerNorm run verifies and
// says what ran; the precision select is disabled, with the reason beside it, on adapters
// without shader-f16 (SwiftShader and compatibility mode both lack it), and a link asking
// precision=f16 gets the page's own message instead of a run. On SwiftShader only: the presets
// and the chapter's example set the normalisation, and a weights file's input_layernorm tensors
// select LayerNorm and verify. Screenshots: test/out/.

import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { serializeSafetensors } from '../../src/index.js';
import { seededArray, streamKey } from '../../src/model/seeded.js';
import type { Profile } from './chromium.js';
import { lastRun, pageText, useBrowserPage, waitForOutcome } from './page-helpers.js';
import { OUT_FILE, startServer } from './server.js';

const RUN = '?layers=1&heads=2&d-model=64&d-head=32&seed=3';
const server = startServer(import.meta.filename);

/** A 2-layer file, d_model 32, inner width 32, with every layer's input_layernorm gain and bias. */
function layerNormFile(): Buffer {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  let stream = 0;
  for (let l = 0; l < 2; l++) {
    for (const p of ['q', 'k', 'v', 'o']) tensors[`layers.${l}.self_attn.${p}_proj.weight`] = { shape: [32, 32], data: seededArray(streamKey(5, stream++), 32 * 32, 0.3) };
    tensors[`layers.${l}.input_layernorm.weight`] = { shape: [32], data: seededArray(streamKey(5, stream++), 32, 0.1).map((v) => 1 + v) };
    tensors[`layers.${l}.input_layernorm.bias`] = { shape: [32], data: seededArray(streamKey(5, stream++), 32, 0.1) };
  }
  return Buffer.from(serializeSafetensors(tensors, { heads: '2' }));
}

const param = (page: Page, name: string) => new URL(page.url()).searchParams.get(name);

describe.each<Profile>(['swiftshader', 'compat'])('normalisation and precision on %s', (profile) => {
  let page: Page;
  useBrowserPage(profile, (opened) => (page = opened));

  test('norm=layernorm runs GPT-3\'s pre-LN block and verifies; f16 is disabled with the reason', async () => {
    await page.goto(server.url() + RUN + '&norm=layernorm&autorun=1');
    const outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, outcome.error).toBe('');
    expect(outcome.verification).toMatch(/^passed/);
    const r = await lastRun(page);
    expect(r.config).toMatchObject({ layers: 1, norm: 'layernorm', precision: 'f32' });
    expect(await page.inputValue('select[name=norm]')).toBe('layernorm');
    expect(param(page, 'norm')).toBe('layernorm');
    expect(await pageText(page, 'run-options')).toBe("Ran with precision f32: every buffer stored in f32; normalisation LayerNorm (GPT-3's pre-LN x + Attn(LN(x))).");
    expect(await pageText(page, 'chapter-steps')).toMatch(/LN\(x\).*layernorm\.wgsl/);

    // Neither software profile offers shader-f16: the select says f32, is disabled, and says why.
    expect(await page.inputValue('select[name=precision]')).toBe('f32');
    expect(await page.isDisabled('select[name=precision]')).toBe(true);
    expect(await page.isDisabled('select[name=precision] option[value=f16]')).toBe(true);
    expect(await page.isVisible('#precision-note')).toBe(true);
    expect(await pageText(page, 'precision-note')).toMatch(/^f16 needs the adapter feature shader-f16, which .+ does not offer: runs here are f32\.$/);
    expect(param(page, 'precision')).toBeNull();
    await page.screenshot({ path: OUT_FILE(`layernorm-${profile}.png`), fullPage: true });
  });

  test('a link asking precision=f16 gets the page\'s message, not a run; “Use f32” undoes it', async () => {
    await page.goto(server.url() + RUN + '&precision=f16&autorun=1');
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.errorKind).toBe('no-f16');
    expect(outcome.error).toMatch(/^“precision” f16 needs the adapter feature shader-f16, which .+ does not offer, so nothing was run\. Choose f32/);
    expect(outcome.error).not.toMatch(/--/);
    expect(outcome.verification).toMatch(/^not verified/);
    expect(await lastRun(page)).toBeNull();
    expect(await page.isHidden('#results')).toBe(true);
    // The select still says f16 (and can be changed); the f16 choice itself is disabled.
    expect(await page.inputValue('select[name=precision]')).toBe('f16');
    expect(await page.isEnabled('select[name=precision]')).toBe(true);
    expect(await page.isDisabled('select[name=precision] option[value=f16]')).toBe(true);
    expect(await pageText(page, 'precision-note')).toMatch(/does not offer: choose f32 to run here\.$/);
    await page.screenshot({ path: OUT_FILE(`no-f16-${profile}.png`) });
    await page.click('#error-action');
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.inputValue('select[name=precision]')).toBe('f32');
    expect(await page.isDisabled('select[name=precision]')).toBe(true);
    expect(param(page, 'precision')).toBeNull();

    // Without autorun the message comes as soon as the adapter is known.
    await page.goto(server.url() + RUN + '&precision=f16');
    await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
    expect(await page.getAttribute('#error', 'data-kind')).toBe('no-f16');
    expect(await pageText(page, 'progress-text')).toBe('idle');
  });

  // The page's own behaviour, not the adapter's: written for the full profile only (not skipped on the other).
  if (profile === 'swiftshader') test('the presets and the chapter\'s example set the normalisation; a preset keeps the precision', async () => {
    await page.goto(server.url() + '?preset=gpt3-widths');
    expect(await page.inputValue('select[name=norm]')).toBe('layernorm');
    expect(param(page, 'norm')).toBeNull(); // the preset's own, not an override
    await page.selectOption('select[name=preset]', 'small');
    expect(await page.inputValue('select[name=norm]')).toBe('none');
    await page.selectOption('select[name=norm]', 'layernorm');
    expect(param(page, 'norm')).toBe('layernorm');
    await page.selectOption('select[name=preset]', 'gpt3');
    expect(await page.inputValue('select[name=norm]')).toBe('layernorm');
    await page.selectOption('select[name=norm]', 'none');
    expect(param(page, 'norm')).toBe('none');
    await page.goto(server.url() + '?example=chapter&norm=layernorm');
    expect(await page.inputValue('select[name=norm]')).toBe('none');
    expect(await page.isDisabled('select[name=norm]')).toBe(true);
    await page.goto(server.url() + '?precision=f16&preset=small');
    await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
    await page.selectOption('select[name=preset]', 'gpt3-widths');
    expect(param(page, 'precision')).toBe('f16');
    // An unknown value is not silently replaced: the run names the field.
    await page.goto(server.url() + RUN + '&norm=rmsnorm&autorun=1');
    expect((await waitForOutcome(page, 30_000)).error).toBe("Configuration error: “normalisation” must be none or layernorm, got 'rmsnorm'");
  });

  if (profile === 'swiftshader') test('a weights file with input_layernorm tensors selects LayerNorm and verifies', async () => {
    await page.goto(server.url());
    await page.setInputFiles('#weights-file', { name: 'ln.safetensors', mimeType: 'application/octet-stream', buffer: layerNormFile() });
    await page.waitForFunction(() => /^ln\.safetensors: 2 layer\(s\).*LayerNorm/.test(document.getElementById('weights-file-info')!.textContent ?? ''));
    expect(await page.inputValue('select[name=norm]')).toBe('layernorm');
    expect(await page.isDisabled('select[name=norm]')).toBe(true);
    await page.click('#run');
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.error, outcome.error).toBe('');
    expect(outcome.verification).toMatch(/^passed/);
    expect((await lastRun(page)).config).toMatchObject({ layers: 2, dModel: 32, heads: 2, dHead: 16, norm: 'layernorm', precision: 'f32' });
    expect(await pageText(page, 'run-options')).toMatch(/normalisation LayerNorm/);
  });
});
