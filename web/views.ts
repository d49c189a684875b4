// The pattern views of a finished run: every head of a layer as small multiples (click one to
// enlarge), the chosen head's pattern beside its raw scores, a tooltip at the cell (mouse, or
// arrow keys on the focused map), and a text version (each query's top keys).

import type { AttentionConfig } from '../src/index.js';
import { cellAt, drawMatrix, legendGradient, type DrawnGrid } from './heatmap.js';
import { headMatrix, SCALE_WORDS, topKeys, type HeadData, type ViewMatrix } from './matrices.js';
import type { Orientation, Scale } from './params.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export interface PatternView {
  patterns: Float32Array[][];
  scores: Float32Array[][] | null;
  cfg: AttentionConfig;
  queryLabels: string[];
  keyLabels: string[];
  /** Names of the heads (the chapter's example), else numbered. */
  headNames: readonly string[] | null;
}

export interface Drawn extends DrawnGrid {
  layer: number;
  head: number;
  orient: Orientation;
  scale: Scale;
  shade: Float32Array;
  masked: boolean[];
}

export interface ViewPrefs {
  orient: Orientation;
  scale: Scale;
}

/** Beyond this many layers × heads the model view is left out (each is a canvas of its own). */
export const MODEL_VIEW_MAX = 1024;

const fmt = (v: number) => (v === -Infinity ? '−∞' : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4));
const headName = (v: PatternView, h: number) => `head ${h + 1}${v.headNames?.[h] ? `: ${v.headNames[h]}` : ''}`;

export function renderPatterns(view: PatternView | null, note: string, prefs: ViewPrefs, onPrefs: (p: ViewPrefs) => void, onDraw: (d: Drawn | null) => void): void {
  const section = $('patterns');
  $('patterns-note').textContent = note;
  section.hidden = false;
  $('legend-bar').style.background = legendGradient();
  const canvas = $<HTMLCanvasElement>('heatmap');
  const scoresCanvas = $<HTMLCanvasElement>('scores-map');
  const layerPick = $<HTMLSelectElement>('layer-pick');
  const headPick = $<HTMLSelectElement>('head-pick');
  const orientPick = $<HTMLSelectElement>('orient');
  const scalePick = $<HTMLSelectElement>('scale');
  const overview = $('heads-overview');
  const modelView = $('model-view');
  const tip = $('cell-tip');
  const focusBox = $('cell-focus');
  tip.hidden = true;
  focusBox.hidden = true;
  const shown = Boolean(view && view.patterns.length > 0);
  $('pattern-views').hidden = !shown;
  if (!view || !shown) {
    layerPick.replaceChildren();
    headPick.replaceChildren();
    overview.replaceChildren();
    modelView.replaceChildren();
    onDraw(null);
    return;
  }
  layerPick.replaceChildren(...view.patterns.map((_, l) => new Option(`layer ${l + 1} of ${view.patterns.length}`, String(l))));
  headPick.replaceChildren(...Array.from({ length: view.cfg.heads }, (_, h) => new Option(headName(view, h), String(h))));
  orientPick.value = prefs.orient;
  scalePick.value = prefs.scale;
  const causal = view.cfg.mask && !view.cfg.cross;
  const data = (layer: number, head: number): HeadData => ({
    pattern: view.patterns[layer]![head]!, scores: view.scores?.[layer]?.[head] ?? null, seq: view.cfg.seq, ctx: view.cfg.kvSeq,
    causal, queryLabels: view.queryLabels, keyLabels: view.keyLabels,
  });
  let main: { m: ViewMatrix; grid: DrawnGrid; h: HeadData } | null = null;
  let focus = { row: 0, col: 0 };
  // Pattern and scores side by side where they fit, one above the other on a phone.
  const width = () => {
    const room = (section.clientWidth || 560) - 8;
    return Math.max(Math.min(room, 240), Math.min(560, view.scores ? (room - 24) / 2 : room));
  };

  const drawOverview = (layer: number, head: number) => {
    overview.replaceChildren(
      ...Array.from({ length: view.cfg.heads }, (_, h) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'thumb';
        b.dataset.head = String(h);
        b.setAttribute('aria-pressed', String(h === head));
        const c = b.appendChild(document.createElement('canvas'));
        c.setAttribute('aria-hidden', 'true');
        drawMatrix(c, headMatrix(data(layer, h), 'pattern', prefs.orient, prefs.scale), view.cfg.heads > 16 ? 64 : 110, false);
        b.append(headName(view, h));
        b.onclick = () => {
          headPick.value = String(h);
          draw();
          canvas.scrollIntoView({ block: 'nearest' });
        };
        return b;
      }),
    );
  };

  // The model view (as bertviz's): every layer as a row, every head as a column, each a small
  // pattern; choosing one enlarges it below.
  const drawModelView = () => {
    const layers = view.patterns.length;
    const heads = view.cfg.heads;
    $('model-view-note').textContent = layers * heads > MODEL_VIEW_MAX
      ? `Not drawn: ${layers} layers × ${heads} heads is over the ${MODEL_VIEW_MAX} small maps the page draws; choose a layer below.` : '';
    if (layers * heads > MODEL_VIEW_MAX) {
      modelView.replaceChildren();
      return;
    }
    // At least 24 px per map (a tap target), at most 64.
    const size = Math.max(24, Math.min(64, Math.floor(((section.clientWidth || 560) - 48) / heads) - 6));
    modelView.style.gridTemplateColumns = `auto repeat(${heads}, auto)`;
    const cells: HTMLElement[] = [document.createElement('span')];
    for (let h = 0; h < heads; h++) cells.push(Object.assign(document.createElement('span'), { className: 'mv-label', textContent: `H${h + 1}` }));
    for (let l = 0; l < layers; l++) {
      cells.push(Object.assign(document.createElement('span'), { className: 'mv-label', textContent: `L${l + 1}` }));
      for (let h = 0; h < heads; h++) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'mv-cell';
        b.dataset.layer = String(l);
        b.dataset.head = String(h);
        b.setAttribute('aria-label', `layer ${l + 1}, ${headName(view, h)}`);
        b.setAttribute('aria-pressed', 'false');
        const c = b.appendChild(document.createElement('canvas'));
        c.setAttribute('aria-hidden', 'true');
        drawMatrix(c, headMatrix(data(l, h), 'pattern', prefs.orient, prefs.scale), size, false);
        b.onclick = () => {
          layerPick.value = String(l);
          headPick.value = String(h);
          drawOverview(l, h);
          draw();
          canvas.scrollIntoView({ block: 'nearest' });
        };
        cells.push(b);
      }
    }
    modelView.replaceChildren(...cells);
  };

  const draw = () => {
    const layer = Number(layerPick.value);
    const head = Number(headPick.value);
    const h = data(layer, head);
    const m = headMatrix(h, 'pattern', prefs.orient, prefs.scale);
    const grid = drawMatrix(canvas, m, width());
    main = { m, grid, h };
    canvas.dataset.layer = String(layer);
    canvas.dataset.head = String(head);
    canvas.setAttribute('aria-label',
      `Attention pattern, layer ${layer + 1}, ${headName(view, head)}: ${h.seq} queries × ${h.ctx} keys, ` +
      `${prefs.orient === 'queries' ? 'queries as rows' : 'keys as rows'}. Arrow keys move between cells; the text version follows.`);
    scoresCanvas.hidden = !h.scores;
    if (h.scores) drawMatrix(scoresCanvas, headMatrix(h, 'scores', prefs.orient, prefs.scale), width());
    for (const b of overview.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.head === String(head)));
    for (const b of modelView.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.layer === String(layer) && b.dataset.head === String(head)));
    const [lo, hi] = SCALE_WORDS[prefs.scale];
    $('legend-lo').textContent = lo;
    $('legend-hi').textContent = hi;
    $('orient-note').textContent = prefs.orient === 'queries'
      ? 'Rows: queries; columns: keys. Each row is one softmax (sums to 1).'
      : "The chapter's drawing: rows are keys, columns queries; each column is one softmax (sums to 1).";
    renderText(h);
    tip.hidden = true;
    focusBox.hidden = true;
    const masked = Array.from({ length: m.rows * m.cols }, (_, n) => m.masked(Math.floor(n / m.cols), n % m.cols));
    onDraw({ ...grid, layer, head, orient: prefs.orient, scale: prefs.scale, shade: m.shade, masked });
  };

  const renderText = (h: HeadData) => {
    $('pattern-text-list').replaceChildren(...topKeys(h).map(({ query, keys }) => {
      const li = document.createElement('li');
      li.textContent = `“${query}” → ${keys.map((k) => `“${k.key}” ${k.weight.toFixed(2)}`).join(', ')}`;
      return li;
    }));
  };

  /** Shows the tooltip at a cell of the main map (`at` the canvas it belongs to). */
  const show = (cell: { row: number; col: number }, at: HTMLCanvasElement) => {
    if (!main) return;
    const { m, grid, h } = main;
    const { query, key } = m.at(cell.row, cell.col);
    const w = h.pattern[query * h.ctx + key]!;
    const s = h.scores ? h.scores[query * h.ctx + key]! : null;
    const isMasked = m.masked(cell.row, cell.col);
    tip.textContent = `query ${query + 1} “${h.queryLabels[query]}” → key ${key + 1} “${h.keyLabels[key]}”: ` +
      (isMasked ? 'masked (score −∞, weight 0)' : `${s !== null ? `score ${fmt(s)}, ` : ''}weight ${w.toFixed(4)}`);
    tip.dataset.query = String(query);
    tip.dataset.key = String(key);
    const x = at.offsetLeft + grid.x0 + (cell.col + 1) * grid.cell;
    const y = at.offsetTop + grid.y0 + (cell.row + 1) * grid.cell;
    tip.style.left = `${Math.min(x + 4, at.offsetLeft + at.offsetWidth - 40)}px`;
    tip.style.top = `${y + 4}px`;
    tip.hidden = false;
    focusBox.style.left = `${at.offsetLeft + grid.x0 + cell.col * grid.cell - 1}px`;
    focusBox.style.top = `${at.offsetTop + grid.y0 + cell.row * grid.cell - 1}px`;
    focusBox.style.width = focusBox.style.height = `${grid.cell + 2}px`;
    focusBox.hidden = false;
  };
  for (const c of [canvas, scoresCanvas]) {
    // Pointer events: a mouse hovering, a finger tapping, a pen.
    c.onpointermove = c.onpointerdown = (e) => {
      if (!main) return;
      const box = c.getBoundingClientRect();
      const hit = cellAt(main.grid, e.clientX - box.left, e.clientY - box.top);
      if (hit) show((focus = hit), c);
    };
    c.onpointerleave = (e) => {
      if (e.pointerType === 'mouse') tip.hidden = focusBox.hidden = true;
    };
  }
  canvas.onfocus = () => show(focus, canvas);
  canvas.onblur = () => (tip.hidden = focusBox.hidden = true);
  canvas.onkeydown = (e) => {
    if (!main) return;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const d = moves[e.key];
    if (!d && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    if (e.key === 'Home') focus = { row: focus.row, col: 0 };
    else if (e.key === 'End') focus = { row: focus.row, col: main.grid.cols - 1 };
    else focus = { row: Math.max(0, Math.min(main.grid.rows - 1, focus.row + d![0])), col: Math.max(0, Math.min(main.grid.cols - 1, focus.col + d![1])) };
    show(focus, canvas);
  };
  layerPick.onchange = () => {
    drawOverview(Number(layerPick.value), Number(headPick.value));
    draw();
  };
  headPick.onchange = () => draw();
  orientPick.onchange = scalePick.onchange = () => {
    prefs = { orient: orientPick.value === 'keys' ? 'keys' : 'queries', scale: (['linear', 'row', 'log'] as const).find((s) => s === scalePick.value) ?? 'linear' };
    onPrefs(prefs);
    focus = { row: focus.col, col: focus.row };
    drawModelView();
    drawOverview(Number(layerPick.value), Number(headPick.value));
    draw();
  };
  drawModelView();
  drawOverview(0, 0);
  draw();
}
