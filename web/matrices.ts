// What a heatmap shows, before drawing: one head's pattern or raw scores in either orientation
// (queries as rows, each row a softmax; or the chapter's drawing, keys as rows, each column
// summing to 1) and on one of three colour scales.

import type { Matrix } from './heatmap.js';
import type { Orientation, Scale } from './params.js';

export interface HeadData {
  /** softmax weights [query][key], row-major seq × ctx */
  pattern: Float32Array;
  /** scores q·k/√d_head, −∞ where masked; null when not captured */
  scores: Float32Array | null;
  seq: number;
  ctx: number;
  causal: boolean;
  queryLabels: string[];
  keyLabels: string[];
}

export interface ViewMatrix extends Matrix {
  /** The query and key of a drawn cell. */
  at: (row: number, col: number) => { query: number; key: number };
}

const LOG_FLOOR = 1e-4;

/** Per query: the colour position of each visible key's value under the scale. */
function shades(h: HeadData, values: Float32Array, kind: 'pattern' | 'scores', scale: Scale): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < h.seq; i++) {
    const row = values.subarray(i * h.ctx, (i + 1) * h.ctx);
    const visible = h.causal ? Math.min(h.ctx, i + 1) : h.ctx;
    let max = -Infinity, min = Infinity;
    for (let j = 0; j < visible; j++) {
      max = Math.max(max, row[j]!);
      min = Math.min(min, row[j]!);
    }
    for (let j = 0; j < h.ctx; j++) {
      const v = row[j]!;
      let t: number;
      if (kind === 'scores') t = max > min ? (v - min) / (max - min) : 0.5;
      else if (scale === 'row') t = max > 0 ? v / max : 0;
      else if (scale === 'log') t = (Math.log10(Math.max(v, LOG_FLOOR)) - Math.log10(LOG_FLOOR)) / -Math.log10(LOG_FLOOR);
      else t = v;
      out[i * h.ctx + j] = t;
    }
  }
  return out;
}

export function headMatrix(h: HeadData, kind: 'pattern' | 'scores', orient: Orientation, scale: Scale): ViewMatrix {
  const values = kind === 'pattern' ? h.pattern : h.scores!;
  const byQuery = shades(h, values, kind, scale);
  const masked = (q: number, k: number) => h.causal && k > q;
  if (orient === 'queries') {
    return {
      rows: h.seq, cols: h.ctx, shade: byQuery, masked, rowLabels: h.queryLabels, colLabels: h.keyLabels,
      at: (row, col) => ({ query: row, key: col }),
    };
  }
  const shade = new Float32Array(values.length);
  for (let q = 0; q < h.seq; q++) for (let k = 0; k < h.ctx; k++) shade[k * h.seq + q] = byQuery[q * h.ctx + k]!;
  return {
    rows: h.ctx, cols: h.seq, shade, masked: (row, col) => masked(col, row), rowLabels: h.keyLabels, colLabels: h.queryLabels,
    at: (row, col) => ({ query: col, key: row }),
  };
}

/** The text alternative: each query's top keys by weight. */
export function topKeys(h: HeadData, count = 3): { query: string; keys: { key: string; weight: number }[] }[] {
  return h.queryLabels.map((query, i) => {
    const keys = Array.from(h.pattern.subarray(i * h.ctx, (i + 1) * h.ctx), (weight, j) => ({ key: h.keyLabels[j]!, weight, j }))
      .filter((k) => !(h.causal && k.j > i))
      .sort((a, b) => b.weight - a.weight)
      .slice(0, count)
      .map(({ key, weight }) => ({ key, weight }));
    return { query, keys };
  });
}

export const SCALE_WORDS: Record<Scale, [string, string]> = {
  linear: ['0', '1'],
  row: ['0', 'row max'],
  log: ['10⁻⁴', '1'],
};
