// A matrix as a canvas heatmap: cells coloured by a shade in [0, 1], masked cells hatched grey.
// Drawn in device pixels (crisp at any pixel ratio): the grid pixel by pixel (ImageData: a
// 2048×2048 pattern in one pass), the labels as text at 12 CSS px, thinned when crowded.

export type RGB = readonly [number, number, number];

/** YlGnBu-like stops: never grey (r = g = b), so a masked cell cannot be mistaken for a value. */
const STOPS: RGB[] = [
  [255, 255, 217],
  [199, 233, 180],
  [65, 182, 196],
  [34, 94, 168],
  [8, 29, 88],
];
export const MASKED_RGB: RGB = [205, 205, 205];
export const HATCH_RGB: RGB = [150, 150, 150];

export function colorFor(value: number): RGB {
  if (!Number.isFinite(value)) return [255, 0, 255]; // a NaN from an unwritten cell stands out
  const t = Math.min(1, Math.max(0, value)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as unknown as RGB;
}

export const legendGradient = (): string =>
  `linear-gradient(to right, ${STOPS.map((s, i) => `rgb(${s.join(',')}) ${(100 * i) / (STOPS.length - 1)}%`).join(', ')})`;

export interface Matrix {
  rows: number;
  cols: number;
  /** Colour position in [0, 1] of each cell, row-major (ignored where masked). */
  shade: Float32Array;
  masked: (row: number, col: number) => boolean;
  rowLabels: string[];
  colLabels: string[];
}

export interface DrawnGrid {
  rows: number;
  cols: number;
  /** Top-left corner of the grid and the side of a cell, in CSS pixels; dpr: device pixels per CSS pixel. */
  x0: number;
  y0: number;
  cell: number;
  dpr: number;
  /** Every how many labels one is drawn (1: all). */
  labelStep: number;
}

const FONT_PX = 12;
const MAX_LABEL = 12;
const clip = (l: string) => (l.length > MAX_LABEL ? l.slice(0, MAX_LABEL - 1) + '…' : l);

/** Draws `m` within `maxCss` CSS pixels (grid and labels); `labels` false for thumbnails. */
export function drawMatrix(canvas: HTMLCanvasElement, m: Matrix, maxCss: number, labels = true): DrawnGrid {
  const dpr = Math.max(1, Math.min(4, window.devicePixelRatio || 1));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser offers no 2D canvas');
  const font = `${FONT_PX}px system-ui, sans-serif`;
  ctx.font = font;
  const widest = (ls: string[]) => (labels ? Math.ceil(Math.max(0, ...ls.map((l) => ctx.measureText(clip(l)).width))) + 8 : 0);
  const x0 = widest(m.rowLabels);
  const y0 = widest(m.colLabels);
  const n = Math.max(m.rows, m.cols);
  // Whole device pixels per cell, so every cell is the same width on screen.
  const cellDev = Math.max(1, Math.min(48 * dpr, Math.floor(((maxCss - Math.max(x0, y0)) * dpr) / n)));
  const cell = cellDev / dpr;
  const labelStep = Math.max(1, Math.ceil((FONT_PX + 2) / cell));
  const cssW = x0 + m.cols * cell + 2;
  const cssH = y0 + m.rows * cell + 2;
  canvas.width = Math.ceil(cssW * dpr);
  canvas.height = Math.ceil(cssH * dpr);
  canvas.style.width = `${cssW}px`;
  canvas.style.height = `${cssH}px`;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);

  const grid = ctx.createImageData(m.cols * cellDev, m.rows * cellDev);
  const px = grid.data;
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) {
      const rgb = m.masked(i, j) ? null : colorFor(m.shade[i * m.cols + j]!);
      for (let y = i * cellDev; y < (i + 1) * cellDev; y++) {
        for (let x = j * cellDev; x < (j + 1) * cellDev; x++) {
          const c = rgb ?? ((x + y) % (6 * Math.ceil(dpr)) < 2 * Math.ceil(dpr) ? HATCH_RGB : MASKED_RGB);
          const at = (y * grid.width + x) * 4;
          px[at] = c[0];
          px[at + 1] = c[1];
          px[at + 2] = c[2];
          px[at + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(grid, Math.round(x0 * dpr), Math.round(y0 * dpr));

  if (labels) {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = font;
    ctx.fillStyle = '#222';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    m.rowLabels.forEach((l, i) => i % labelStep === 0 && ctx.fillText(clip(l), x0 - 4, y0 + (i + 0.5) * cell));
    // Column labels run upwards so long tokens do not collide.
    m.colLabels.forEach((l, j) => {
      if (j % labelStep !== 0) return;
      ctx.save();
      ctx.translate(x0 + (j + 0.5) * cell, y0 - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(clip(l), 0, 0);
      ctx.restore();
    });
  }
  return { rows: m.rows, cols: m.cols, x0, y0, cell, dpr, labelStep };
}

/** The cell under a point in CSS pixels relative to the canvas, or null outside the grid. */
export function cellAt(d: DrawnGrid, x: number, y: number): { row: number; col: number } | null {
  const col = Math.floor((x - d.x0) / d.cell);
  const row = Math.floor((y - d.y0) / d.cell);
  return row >= 0 && row < d.rows && col >= 0 && col < d.cols ? { row, col } : null;
}
