// Opening Chromium and its page for a describe block; reading the page's outcome and its exposed data (window.webgpuAttention) from a test.

import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { PageData } from '../../web/app.js';
import { launch, type Profile } from './chromium.js';

export interface Outcome {
  verification: string;
  error: string;
  errorKind: string;
}

/** Waits until the run settles: a verification verdict, or a visible #error. */
export async function waitForOutcome(page: Page, timeout: number): Promise<Outcome> {
  await page.waitForFunction(
    () => {
      const data = (window as unknown as { __webgpuAttention?: PageData }).__webgpuAttention;
      const error = document.getElementById('error');
      if (error && !error.hidden) return true;
      return data?.state === 'done' && /^(passed|failed|refused|not verified)/.test(document.getElementById('verification')?.textContent ?? '');
    },
    null,
    { timeout, polling: 100 },
  );
  return page.evaluate(() => {
    const error = document.getElementById('error')!;
    return {
      verification: document.getElementById('verification')!.textContent ?? '',
      error: error.hidden ? '' : (error.textContent ?? ''),
      errorKind: error.dataset.kind ?? '',
    };
  });
}

/** window.webgpuAttention.lastRun, as automation reads it. */
export async function lastRun(page: Page) {
  return page.evaluate(() => {
    const r = window.webgpuAttention.lastRun;
    return r && JSON.parse(JSON.stringify({ ...r, patterns: r.patterns, scores: r.scores }));
  });
}

export async function pageText(page: Page, id: string): Promise<string> {
  return (await page.textContent(`#${id}`)) ?? '';
}

/** The main heatmap's shades and, per cell, the canvas pixel at its centre and the colour its shade maps to. */
export async function cellPixels(page: Page) {
  return page.evaluate(() => {
    const d = window.webgpuAttention;
    const h = d.heatmap!;
    const canvas = document.getElementById('heatmap') as HTMLCanvasElement;
    const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const cells = [];
    for (let row = 0; row < h.rows; row++) {
      for (let col = 0; col < h.cols; col++) {
        const x = Math.floor((h.x0 + (col + 0.5) * h.cell) * h.dpr);
        const y = Math.floor((h.y0 + (row + 0.5) * h.cell) * h.dpr);
        const at = (y * img.width + x) * 4;
        cells.push({
          row, col, masked: h.masked[row * h.cols + col]!,
          rgb: [img.data[at]!, img.data[at + 1]!, img.data[at + 2]!],
          expected: [...d.colorFor(h.shade[row * h.cols + col]!)],
        });
      }
    }
    return { layer: h.layer, head: h.head, rows: h.rows, cols: h.cols, orient: h.orient, dpr: h.dpr, canvasWidth: canvas.width, cssWidth: canvas.getBoundingClientRect().width, cells, masked: [...d.maskedRgb], hatch: [...d.hatchRgb] };
  });
}

/** Checks every drawn cell: masked cells grey, others the colour of their shade; returns the distinct colours. */
export function checkCells(px: Awaited<ReturnType<typeof cellPixels>>, expect: (v: unknown, m?: string) => { toBe: (x: unknown) => void; toBeLessThanOrEqual: (x: number) => void; toContain: (x: unknown) => void }): number {
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
  return distinct.size;
}

/** The page at `url`, once it has asked for its adapter (its form is wired from then on). */
export async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('adapter')?.textContent !== 'adapter: requesting…');
}

/** The page at `url` with a checkpoint folder picked and `text` typed: ready for Run or Generate. */
export async function openWithCheckpoint(page: Page, url: string, folder: string, text: string): Promise<void> {
  await openPage(page, url);
  await page.setInputFiles('#checkpoint-folder', folder);
  await page.waitForFunction(() => window.webgpuAttention.checkpoint !== null);
  await page.fill('input[name=text]', text);
}

/** The desktop window every browser test uses unless it asks for another. */
const DESKTOP = { viewport: { width: 1100, height: 900 } };

/** Chromium on `profile`, launched before the enclosing block's tests (`onBrowser` receives it; a promise it returns is awaited) and closed after. */
export function useBrowser(profile: Profile, onBrowser: (browser: Browser) => unknown): void {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launch(profile);
    await onBrowser(browser);
  });
  afterAll(() => browser?.close());
}

/**
 * Chromium on `profile` and one page in it (`onPage` receives it) for the enclosing block's tests, closed after.
 * Returns the list that collects the page's uncaught errors (`expect(errors).toEqual([])`).
 */
export function useBrowserPage(profile: Profile, onPage: (page: Page) => void, options: BrowserContextOptions = DESKTOP): string[] {
  const errors: string[] = [];
  useBrowser(profile, async (browser) => {
    const page = await browser.newPage(options);
    page.on('pageerror', (e) => errors.push(e.message));
    onPage(page);
  });
  return errors;
}
