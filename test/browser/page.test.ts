// @module-tag slow (headless Chromium): `npm test` runs it, `npm run test:fast` does not.
// The browser page end to end: build dist/web, serve it on a free port, load it in headless
// Chromium on a software WebGPU adapter (SwiftShader, full profile; ANGLE on lavapipe,
// compatibility profile), run small stacks, and check the verification, window.webgpuAttention
// .lastRun, the pixels of the heatmaps, the views, the chapter's example, the benchmark mode and
// the error paths. Screenshots: test/out/ (not committed).

import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import type { Profile } from './chromium.js';
import { judgeRow, rowSumDisagreement } from '../helpers/pattern-judge.js';
import { cellPixels, checkCells, lastRun, pageText, useBrowserPage, waitForOutcome } from './page-helpers.js';
import { OUT_FILE, startServer } from './server.js';

// GPT-3's r50k_base split of the default sentence: seq = 11.
const SENTENCE_IDS = [64, 39145, 4171, 7185, 686, 2434, 262, 3326, 67, 415, 8222];
const SMALL_RUN = '?layers=2&heads=2&d-model=64&d-head=32&seed=3&autorun=1';

const server = startServer(import.meta.filename);

describe.each<Profile>(['swiftshader', 'compat'])('page on %s', (profile) => {
  let page: Page;
  const errors = useBrowserPage(profile, (opened) => (page = opened));

  test('runs, verifies, exposes lastRun, and draws every head, the pattern and the raw scores', async () => {
    await page.goto(server.url() + SMALL_RUN);
    const outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed: worst [0-9.e-]+× the tolerance/);
    expect(errors).toEqual([]);

    const r = await lastRun(page);
    expect(r.tokens.ids).toEqual(SENTENCE_IDS);
    expect(r.config).toMatchObject({ layers: 2, heads: 2, dModel: 64, dHead: 32, seq: 11, kvSeq: 11, mask: true, cross: false });
    expect(r.verification.passed).toBe(true);
    expect(r.weights).toMatch(/^seeded random weights \(seed 3\)/);
    expect(r.timings.perLayerMs).toHaveLength(2);
    expect(await pageText(page, 'adapter')).toMatch(/^adapter: \S/);
    expect(await pageText(page, 'progress-text')).toBe('done: 2/2 layers');
    // patterns[layer][head][query][key]: every row a distribution, masked cells exactly 0 and their scores −∞ (null).
    expect([r.patterns.length, r.patterns[0].length, r.patterns[0][0].length, r.patterns[0][0][0].length]).toEqual([2, 2, 11, 11]);
    for (const [l, layer] of r.patterns.entries()) {
      for (const [h, head] of (layer as number[][][]).entries()) {
        head.forEach((row, i) => {
          expect(row.slice(i + 1).every((v) => v === 0)).toBe(true);
          expect(r.scores[l][h][i].slice(i + 1).every((v: number | null) => v === null)).toBe(true);
          // softmax of the raw scores is the pattern, and the row sums to 1, by the one judge (pattern-judge.ts)
          const s = r.scores[l][h][i].slice(0, i + 1) as number[];
          expect(rowSumDisagreement(row, i + 1, s), `layer ${l} head ${h} row ${i}`).toBe('');
          const terms = judgeRow(row, s, i + 1);
          expect(terms.passed, `layer ${l} head ${h} row ${i}: ${terms.detail}`).toBe(true);
        });
      }
    }
    // Every head at once, the chosen one enlarged; the seeded weights are said to mean nothing.
    expect(await page.locator('#heads-overview button.thumb').count()).toBe(2);
    expect(await pageText(page, 'weights-note')).toMatch(/Random weights give near-uniform rows/);
    expect(await page.locator('#chapter-steps tr').count()).toBeGreaterThanOrEqual(6);
    expect(await pageText(page, 'chapter-steps')).toMatch(/√d_head.*−∞.*value-up/s);
    for (const [layer, head] of [[0, 0], [1, 1]] as const) {
      await page.selectOption('#layer-pick', String(layer));
      await page.click(`#heads-overview button[data-head="${head}"]`);
      const px = await cellPixels(page);
      expect([px.layer, px.head]).toEqual([layer, head]);
      expect(px.canvasWidth).toBe(Math.ceil(px.cssWidth * px.dpr)); // device pixels, not a stretched bitmap
      expect(checkCells(px, expect as never)).toBeGreaterThan(10);
    }
    await page.selectOption('#layer-pick', '0');
    await page.click('#heads-overview button[data-head="0"]');
    expect(await page.isVisible('#scores-map')).toBe(true);
    // The text alternative: one line per query.
    expect(await page.locator('#pattern-text-list li').count()).toBe(11);
    await page.screenshot({ path: OUT_FILE(`page-${profile}.png`), fullPage: true });
  });

  test("one click shows the chapter's example: \" creature\" looks at \" fluffy\" and \" blue\"; views, tooltip, keyboard", async () => {
    await page.goto(server.url());
    await page.click('#show-example');
    const outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed/);
    const r = await lastRun(page);
    expect(r.weights).toMatch(/chapter's example/);
    expect(r.config).toMatchObject({ layers: 2, heads: 4, dModel: 64, dHead: 16, seq: 11 });
    const creature = r.tokens.strings.indexOf(' creature');
    const row = r.patterns[0][0][creature] as number[];
    expect(row[1]! + row[2]!).toBeGreaterThan(0.95);
    for (let i = 1; i < 11; i++) expect(r.patterns[0][1][i][i - 1]).toBeGreaterThan(0.9);
    expect(await page.textContent('#heads-overview')).toMatch(/head 1: nouns → the adjectives before them/);
    expect(await page.textContent('#pattern-text-list')).toContain('“·creature” → “·blue”');

    // The chapter's orientation: keys as rows, each column (a query) sums to 1.
    await page.selectOption('#orient', 'keys');
    let px = await cellPixels(page);
    expect(px.orient).toBe('keys');
    expect(new URL(page.url()).searchParams.get('orient')).toBe('keys');
    checkCells(px, expect as never);
    // Per-query maximum: the strongest key of each query is the darkest colour.
    await page.selectOption('#scale', 'row');
    px = await cellPixels(page);
    const top = px.cells.filter((c) => c.col === creature && c.row === 2)[0]!;
    expect(top.expected).toEqual([8, 29, 88]);
    await page.selectOption('#scale', 'log');
    checkCells(await cellPixels(page), expect as never);
    await page.selectOption('#orient', 'queries');
    await page.selectOption('#scale', 'linear');

    // Keyboard: focus the map, move to (creature, blue); the tooltip sits at the cell with query, key, score and weight.
    await page.focus('#heatmap');
    for (let i = 0; i < creature; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const tip = await page.textContent('#cell-tip');
    expect(tip).toMatch(/^query 4 “·creature” → key 3 “·blue”: score [-0-9.]+, weight 0\.\d{4}$/);
    expect(await page.isVisible('#cell-tip')).toBe(true);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await page.textContent('#cell-tip')).toMatch(/key 5 .*masked \(score −∞, weight 0\)/);
    await page.screenshot({ path: OUT_FILE(`chapter-${profile}.png`), fullPage: true });
  });

  test('benchmark mode: warm-up, timed repeats with median/min/max, compilation apart, JSON', async () => {
    // Record every progress line: the wait for compilation must be visible, not "layer 0/N".
    await page.addInitScript(() => {
      const seen: string[] = ((window as unknown as { __progress: string[] }).__progress = []);
      addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('progress-text')!;
        new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
      });
    });
    await page.goto(server.url() + SMALL_RUN + '&bench=5');
    const outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    const r = await lastRun(page);
    expect(r.benchmark.repeats).toBe(5);
    const progress = await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress);
    expect(progress.some((p) => /^warm-up run: compiling shaders and allocating buffers… \d+\.\d s$/.test(p))).toBe(true);
    expect(progress).toContain('timed run 5/5');
    expect(r.benchmark.samples).toHaveLength(5);
    const b = r.benchmark.totalMs;
    expect(b.min).toBeLessThanOrEqual(b.median);
    expect(b.median).toBeLessThanOrEqual(b.max);
    expect(await pageText(page, 'bench-summary')).toMatch(/^5 timed runs after a warm-up; (GPU time \(timestamp queries\)|wall-clock time \(this adapter has no GPU timestamps\))\. Compiling shaders/);
    expect(await pageText(page, 'compile')).toMatch(/^(Compiling shaders and allocating buffers took|Shaders were reused)/);
    const json = JSON.parse((await page.textContent('#bench-json'))!);
    expect(json).toMatchObject({ repeats: 5, config: { layers: 2, heads: 2 } });
    expect(await page.locator('#bench-table tr').count()).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: OUT_FILE(`bench-${profile}.png`), fullPage: true });
  });

  test('the fused attention core verifies too, and says why no pattern is drawn', async () => {
    await page.goto(server.url() + SMALL_RUN + '&attention=fused');
    const outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, `#error: ${outcome.error}`).toBe('');
    expect(outcome.verification).toMatch(/^passed/);
    expect((await lastRun(page)).patterns).toBeNull();
    expect(await pageText(page, 'patterns-note')).toMatch(/fused attention never stores them/);
    expect(await pageText(page, 'chapter-steps')).toMatch(/attention\.wgsl/);
  });

  test('a configuration over the adapter limits shows an error in the page\'s words and clears the results', async () => {
    await page.goto(server.url() + '?input=seeded&layers=1&heads=1&d-head=64&seq=2048&d-model=262144&verify=none&autorun=1');
    const outcome = await waitForOutcome(page, 30_000);
    expect(outcome.error).toMatch(/^Over the limits: x \(residual stream\).*maxStorageBufferBindingSize/);
    expect(outcome.error).not.toMatch(/--/);
    expect(outcome.errorKind).toBe('InputError');
    expect(outcome.verification).toMatch(/^not verified/);
    expect(await page.isHidden('#results')).toBe(true);
    await page.screenshot({ path: OUT_FILE(`limits-${profile}.png`) });
  });
});
