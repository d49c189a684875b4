// @module-tag slow (headless Chromium): `npm test` runs it, `npm run test:fast` does not.
// Generate in the page: with a checkpoint (test/golden/checkpoints/gpt2-f32) the prompt's prefill
// and N decode steps, every step verified, the greedy continuation equal to the CLI's
// (`run --model --decode N`, Dawn in Node) and its first token to numpy's; each step's pattern row
// drawn for every layer and head as it comes (rows softmax-normalised over the keys so far); with
// seeded weights the decode timing (tokens/s, bytes per step) and every step verified; too many
// steps refused in the form's words before any GPU work.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { cli } from '../helpers/cli.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { checkpointOracle, topTokensDisagreement } from '../helpers/oracle-reach.js';
import { rowSumDisagreement } from '../helpers/pattern-judge.js';
import { openPage, openWithCheckpoint, pageText, useBrowser, useBrowserPage, waitForOutcome } from './page-helpers.js';
import { OUT_FILE, startServer } from './server.js';

const DIR = join(GOLDEN_DIR, 'checkpoints');
const CASES: { name: string; layers: number; heads: number; text: string; tokens: number[]; top: { id: number }[] }[] =
  JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));
const GPT2 = CASES.find((c) => c.name === 'gpt2-f32')!;
const STEPS = 5;

const server = startServer(import.meta.filename);

async function lastGenerate(page: Page) {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.webgpuAttention.lastGenerate)));
}

describe('Generate on swiftshader', () => {
  let page: Page;
  const errors = useBrowserPage('swiftshader', (opened) => (page = opened));

  test('a checkpoint: the continuation token by token, each step verified, as the CLI generates it', async () => {
    await openWithCheckpoint(page, server.url() + `?verify=exact&steps=${STEPS}`, join(DIR, GPT2.name), GPT2.text);
    await page.click('#generate');
    const outcome = await waitForOutcome(page, 120_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed: generation, every step verified/);
    const g = await lastGenerate(page);
    expect(g.prompt).toEqual(GPT2.tokens);
    expect(g.steps).toHaveLength(STEPS);
    expect(g.generated).toHaveLength(STEPS + 1);
    // The prefill's greedy choice is numpy's most likely next token (where numpy's margin exceeds the reach of the
    // judge's allowances: test/helpers/oracle-reach.ts).
    const o = checkpointOracle(DIR, GPT2.name, GPT2.layers, GPT2.tokens.length);
    expect(topTokensDisagreement([g.generated[0]], o.logits, o.reach.logits)).toBe('');
    // The CLI, on Dawn in Node, generates the same continuation from the same folder.
    const r = cli('run', '--model', join(DIR, GPT2.name), '--text', GPT2.text, '--decode', String(STEPS), '--verify', 'none', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(g.generated).toEqual(JSON.parse(r.stdout).generated);
    g.steps.forEach((s: { step: number; position: number; n: number; token: number; passed: boolean; ms: number }, t: number) => {
      expect(s).toMatchObject({ step: t, position: GPT2.tokens.length + t, n: GPT2.tokens.length + t + 1, token: g.generated[t], passed: true });
      expect(s.ms).toBeGreaterThan(0);
    });
    // Every step's pattern row of every layer and head: n keys, a distribution.
    expect(g.patternRows).toHaveLength(STEPS);
    g.patternRows.forEach((step: number[][][], t: number) => {
      expect(step).toHaveLength(GPT2.layers);
      for (const layer of step) {
        expect(layer).toHaveLength(GPT2.heads);
        for (const row of layer) {
          expect(row).toHaveLength(GPT2.tokens.length + t + 1);
          expect(rowSumDisagreement(row)).toBe(''); // within its terms' allowances (pattern-judge.ts)
        }
      }
    });
    // Drawn: a cell per layer and head, the enlarged head one row per step; the text grew by the chosen tokens.
    expect(await page.locator('#generation-grid button.mv-cell').count()).toBe(GPT2.layers * GPT2.heads);
    expect(await page.getAttribute('#generation-rows', 'data-rows')).toBe(String(STEPS));
    await page.click('#generation-grid button.mv-cell[data-layer="0"][data-head="1"]');
    expect(await page.getAttribute('#generation-rows', 'data-head')).toBe('1');
    expect(await page.locator('#generation-text span.generated').count()).toBe(STEPS + 1);
    expect(await page.locator('#generation-steps tr').count()).toBe(STEPS + 1);
    expect(await pageText(page, 'generation-summary')).toMatch(/^5 step\(s\) after a prefill of 4 tokens: [0-9.]+ tokens\/s, [0-9.]+ MiB read per step/);
    expect(new URL(page.url()).searchParams.get('steps')).toBe(String(STEPS));
    await page.screenshot({ path: OUT_FILE('generate-checkpoint.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  test('a checkpoint at a temperature: the same draws as the CLI with the same seed', async () => {
    await openWithCheckpoint(page, server.url() + '?verify=none&steps=3&temperature=2&seed=5', join(DIR, GPT2.name), GPT2.text);
    await page.click('#generate');
    const outcome = await waitForOutcome(page, 120_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toBe('not verified: “verification” is set to none');
    const g = await lastGenerate(page);
    const r = cli('run', '--model', join(DIR, GPT2.name), '--text', GPT2.text, '--decode', '3', '--temperature', '2', '--seed', '5', '--verify', 'none', '--json');
    expect(r.status, r.stderr).toBe(0);
    const cliIds = JSON.parse(r.stdout).generated;
    expect(g.generated).toEqual(cliIds);
    // At temperature 2 the draws leave the greedy path (else this test could not tell sampling from greedy).
    const greedy = cli('run', '--model', join(DIR, GPT2.name), '--text', GPT2.text, '--decode', '3', '--verify', 'none', '--json');
    expect(JSON.parse(greedy.stdout).generated).not.toEqual(cliIds);
  });

  test('seeded weights: the decode timing, every step verified', async () => {
    await openPage(page, server.url() + '?layers=2&heads=2&d-model=64&d-head=32&seed=3&steps=4');
    await page.click('#generate');
    const outcome = await waitForOutcome(page, 120_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed: generation/);
    const g = await lastGenerate(page);
    expect(g.generated).toBeNull();
    expect(g.steps).toHaveLength(4);
    expect(g.tokensPerSecond).toBeGreaterThan(0);
    expect(g.bytesPerStep).toBeGreaterThan(0);
    expect(g.steps.every((s: { passed: boolean }) => s.passed)).toBe(true);
    expect(await pageText(page, 'generation-summary')).toMatch(/^4 step\(s\) after a prefill of 11 tokens: [0-9.]+ tokens\/s, .* GB\/s; every step verified/);
  });

  test('decode timing without pattern rows or checks: the steps run back to back', async () => {
    await openPage(page, server.url() + '?layers=2&heads=2&d-model=64&d-head=32&seed=3&steps=3&verify=none&rows=0');
    expect(await page.isChecked('input[name=rows]')).toBe(false);
    await page.click('#generate');
    await page.waitForFunction(() => window.webgpuAttention.lastGenerate !== null || !document.getElementById('error')!.hidden, null, { timeout: 120_000 });
    expect(await pageText(page, 'error')).toBe('');
    const g = await lastGenerate(page);
    expect(g.steps).toHaveLength(3);
    expect(g.patternRows).toEqual([]);
    expect(g.verification.passed).toBeNull();
    expect(g.timing).toMatch(/back to back/);
    expect(await pageText(page, 'generation-grid-note')).toMatch(/^Not drawn/);
    expect(await page.locator('#generation-grid button').count()).toBe(0);
    expect(await pageText(page, 'verification')).toBe('not verified: “verification” is set to none');
  });

  test('on a software adapter a prefill priced over the limit is refused as a Run is, before any GPU work', async () => {
    await openPage(page, server.url() + '?preset=gpt3&steps=2');
    await page.click('#generate');
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.errorKind).toBe('too-slow');
    expect(outcome.error).toMatch(/^Refused: "google swiftshader" is a software adapter/);
    expect(await page.evaluate(() => window.webgpuAttention.lastGenerate)).toBeNull();
  });

  test('a bad number of tokens or temperature is refused naming the field', async () => {
    await openPage(page, server.url() + '?steps=0');
    await page.click('#generate');
    let outcome = await waitForOutcome(page, 30_000);
    expect(outcome.error).toBe('Configuration error: “tokens (Generate)” must be a positive whole number, got 0');
    await openPage(page, server.url() + '?temperature=-1');
    await page.click('#generate');
    outcome = await waitForOutcome(page, 30_000);
    expect(outcome.error).toBe('Configuration error: “temperature” must be a number from 0 to 1e6 (0: the most likely token), got -1');
  });

  test('more tokens than the positions left are refused, in the form\'s words, before any GPU work', async () => {
    await openWithCheckpoint(page, server.url() + '?steps=30', join(DIR, GPT2.name), GPT2.text);
    await page.click('#generate');
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.error).toMatch(/“tokens \(Generate\)” 30 after 4 (prompt )?tokens needs 34 positions/);
    expect(outcome.error).not.toMatch(/--/);
    expect(await page.evaluate(() => window.webgpuAttention.lastGenerate)).toBeNull();
  });
});

describe('Generate on compat (lavapipe through ANGLE)', () => {
  let browser: Browser;
  useBrowser('compat', (launched) => (browser = launched));

  test('a checkpoint (F16 shards): every step verified, the CLI\'s continuation', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await openWithCheckpoint(page, server.url() + '?verify=exact&steps=3', join(DIR, 'gpt2-sharded-f16'), GPT2.text);
    await page.click('#generate');
    const outcome = await waitForOutcome(page, 120_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed: generation, every step verified/);
    const g = await lastGenerate(page);
    const r = cli('run', '--model', join(DIR, 'gpt2-sharded-f16'), '--text', GPT2.text, '--decode', '3', '--verify', 'none', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(g.generated).toEqual(JSON.parse(r.stdout).generated);
  });
});
