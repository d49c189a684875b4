// One head's attention pattern as a canvas heatmap: rows are query tokens, columns key tokens,
// colour the softmax weight on a fixed 0..1 scale (so heads compare at a glance), masked cells
// hatched grey. The grid is written pixel by pixel (ImageData): a 2048×2048 pattern draws in
// one pass where millions of fillRect calls would stall the tab.

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

export interface HeatmapInput {
  layer: number;
  head: number;
  rows: number;
  cols: number;
  values: Float32Array;
  rowLabels: string[];
  colLabels: string[];
  /** Causal mask: cell (i, j) with j > i is hidden. */
  causal: boolean;
}

export interface HeatmapGeometry {
  /** Top-left corner of the grid and the side of one cell, in canvas pixels. */
  x0: number;
  y0: number;
  cell: number;
}

export interface DrawnHeatmap extends HeatmapInput, HeatmapGeometry {}

const MAX_GRID_PX = 520;
const FONT = '12px system-ui, sans-serif';

export function drawHeatmap(canvas: HTMLCanvasElement, h: HeatmapInput): DrawnHeatmap {
  const n = Math.max(h.rows, h.cols);
  const cell = Math.max(1, Math.min(48, Math.floor(MAX_GRID_PX / n)));
  const labelled = cell >= 10 && n <= 128;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser offers no 2D canvas');
  ctx.font = FONT;
  const widest = (labels: string[]) => (labelled ? Math.ceil(Math.max(0, ...labels.map((l) => ctx.measureText(l).width))) + 10 : 4);
  const x0 = widest(h.rowLabels);
  const y0 = widest(h.colLabels);
  canvas.width = x0 + h.cols * cell + 2;
  canvas.height = y0 + h.rows * cell + 2;
  ctx.font = FONT; // resizing a canvas resets its state
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);

  const grid = ctx.createImageData(h.cols * cell, h.rows * cell);
  const px = grid.data;
  for (let i = 0; i < h.rows; i++) {
    for (let j = 0; j < h.cols; j++) {
      const masked = h.causal && j > i;
      const rgb = masked ? null : colorFor(h.values[i * h.cols + j]!);
      for (let y = i * cell; y < (i + 1) * cell; y++) {
        for (let x = j * cell; x < (j + 1) * cell; x++) {
          const c = rgb ?? ((x + y) % 6 < 2 ? HATCH_RGB : MASKED_RGB);
          const at = (y * grid.width + x) * 4;
          px[at] = c[0];
          px[at + 1] = c[1];
          px[at + 2] = c[2];
          px[at + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(grid, x0, y0);

  if (labelled) {
    ctx.fillStyle = '#222';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    h.rowLabels.forEach((l, i) => ctx.fillText(l, x0 - 6, y0 + (i + 0.5) * cell));
    // Column labels run upwards so long tokens do not collide.
    h.colLabels.forEach((l, j) => {
      ctx.save();
      ctx.translate(x0 + (j + 0.5) * cell, y0 - 6);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(l, 0, 0);
      ctx.restore();
    });
  }
  return { ...h, x0, y0, cell };
}

/** The cell under a canvas point, or null outside the grid. */
export function cellAt(d: DrawnHeatmap, x: number, y: number): { row: number; col: number } | null {
  const col = Math.floor((x - d.x0) / d.cell);
  const row = Math.floor((y - d.y0) / d.cell);
  return row >= 0 && row < d.rows && col >= 0 && col < d.cols ? { row, col } : null;
}
