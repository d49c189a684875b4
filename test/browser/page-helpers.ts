// Reading the page's outcome and its exposed data (window.__webgpuAttention) from a test.

import type { Page } from 'playwright-core';
import type { PageData } from '../../web/app.js';

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
      return data?.state === 'done' && /^(passed|failed|refused|skipped)/.test(document.getElementById('verification')?.textContent ?? '');
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

export async function pageData(page: Page) {
  return page.evaluate(() => {
    const d = window.__webgpuAttention;
    return {
      tokens: d.tokens?.ids ?? null,
      config: d.config,
      adapterText: document.getElementById('adapter')!.textContent ?? '',
      progress: document.getElementById('progress-text')!.textContent ?? '',
      patternShape: d.patterns ? [d.patterns.length, d.patterns[0]!.length, d.patterns[0]![0]!.length] : null,
      patterns: (d.patterns ?? []).map((layer) => layer.map((head) => Array.from(head))),
    };
  });
}

/** The heatmap's values and, per cell, the canvas pixel at its centre and the colour its value maps to. */
export async function cellPixels(page: Page) {
  return page.evaluate(() => {
    const d = window.__webgpuAttention;
    const h = d.heatmap!;
    const canvas = document.getElementById('heatmap') as HTMLCanvasElement;
    const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const cells = [];
    for (let row = 0; row < h.rows; row++) {
      for (let col = 0; col < h.cols; col++) {
        const x = h.x0 + Math.floor((col + 0.5) * h.cell);
        const y = h.y0 + Math.floor((row + 0.5) * h.cell);
        const at = (y * img.width + x) * 4;
        const value = h.values[row * h.cols + col]!;
        cells.push({
          row,
          col,
          masked: h.causal && col > row,
          rgb: [img.data[at]!, img.data[at + 1]!, img.data[at + 2]!],
          expected: [...d.colorFor(value)],
        });
      }
    }
    return { layer: h.layer, head: h.head, values: Array.from(h.values), cells, masked: [...d.maskedRgb], hatch: [...d.hatchRgb] };
  });
}
