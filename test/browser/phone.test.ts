// @module-tag slow (headless Chromium): `npm test` runs it, `npm run test:fast` does not.
// The page on a 390 px phone (pixel ratio 3, touch) on both profiles: the chapter's example runs
// and verifies; no horizontal overflow; tap targets of 24 px or more; text contrast of 4.5:1 or
// more; crisp canvases; progress and verification in an aria-live region, the progress bar named,
// the pattern with a text alternative. Screenshots: test/out/.

import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import type { Profile } from './chromium.js';
import { cellPixels, lastRun, useBrowserPage, waitForOutcome } from './page-helpers.js';
import { OUT_FILE, startServer } from './server.js';

const server = startServer(import.meta.filename);

/** Visible interactive elements smaller than 24 × 24 CSS px (a label around a checkbox counts as its target). */
function smallTargets(page: Page) {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('button, input, select, a, summary')) {
      const box = (el.closest('label') ?? el).getBoundingClientRect();
      if (box.width === 0 || el.offsetParent === null) continue;
      if (box.width < 24 || box.height < 24) out.push(`${el.tagName.toLowerCase()}#${el.id || (el as HTMLInputElement).name || el.textContent?.trim().slice(0, 20)} ${box.width.toFixed(0)}×${box.height.toFixed(0)}`);
    }
    return out;
  });
}

/** Visible text with a contrast under 4.5:1 against its nearest opaque background (disabled controls exempt, as in WCAG). */
function lowContrast(page: Page) {
  return page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
    };
    const background = (el: Element | null): number[] => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c.length === 3 || c[3]! > 0.5) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement!;
      if (!n.textContent?.trim() || el.closest('[hidden], :disabled, option, noscript, script') || (el as HTMLElement).offsetParent === null) continue;
      const style = getComputedStyle(el);
      const opacity = Number(style.opacity) * (el.closest('[data-stale]') ? 0 : 1);
      if (opacity === 0) continue;
      const a = lum(rgb(style.color).slice(0, 3)), b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) out.push(`${el.tagName.toLowerCase()}#${el.id} "${n.textContent.trim().slice(0, 24)}" ${ratio.toFixed(2)}`);
    }
    return out;
  });
}

describe.each<Profile>(['swiftshader', 'compat'])('phone (390 px) on %s', (profile) => {
  let page: Page;
  useBrowserPage(profile, (opened) => (page = opened), { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });

  test("the chapter's example fits, is tappable, readable and announced", async () => {
    await page.goto(server.url() + '?example=chapter&autorun=1');
    const outcome = await waitForOutcome(page, 90_000);
    expect(outcome.error, outcome.error).toBe('');
    expect(outcome.verification).toMatch(/^passed/);
    expect((await lastRun(page)).config.heads).toBe(4);

    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await smallTargets(page)).toEqual([]);
    expect(await lowContrast(page)).toEqual([]);
    const px = await cellPixels(page);
    expect(px.dpr).toBe(3);
    expect(px.canvasWidth).toBe(Math.ceil(px.cssWidth * 3));
    expect(await page.getAttribute('#status', 'aria-live')).toBe('polite');
    expect(await page.getAttribute('#progress', 'aria-label')).toBe('run progress');
    expect(await page.getAttribute('#heatmap', 'aria-label')).toMatch(/^Attention pattern, layer 1, head 1: nouns → the adjectives before them: 11 queries × 11 keys/);
    expect(await page.locator('#pattern-text-list li').count()).toBe(11);

    // Tapping a head's thumbnail enlarges it.
    await page.tap('#heads-overview button[data-head="2"]');
    expect(await page.getAttribute('#heatmap', 'data-head')).toBe('2');
    // Tapping a cell shows the tooltip at it: query 4 (" creature"), key 1 ("a").
    const h = await page.evaluate(() => window.webgpuAttention.heatmap!);
    await page.tap('#heatmap', { position: { x: h.x0 + 0.5 * h.cell, y: h.y0 + 3.5 * h.cell } });
    expect(await page.isVisible('#cell-tip')).toBe(true);
    expect(await page.textContent('#cell-tip')).toMatch(/^query 4 “·creature” → key 1 “a”: score 10\.0+, weight 0\.99/);
    await page.screenshot({ path: OUT_FILE(`phone-${profile}.png`), fullPage: true });
  });
});
