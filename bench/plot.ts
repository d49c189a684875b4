// --plot FILE.svg: throughput against matrix size for the square matmuls, one line per implementation, drawn
// as plain SVG (no library). x: n on a log₂ scale; y: TFLOP/s (GFLOP/s when everything is below 0.1 TFLOP/s,
// as on a software adapter). Only verified measurements are drawn; the legend says so.

import type { BenchRecord, Impl } from './report.js';

const COLORS: Record<Impl, string> = {
  'webgpu-attention': '#d62728',
  'tfjs-webgpu': '#1f77b4',
  'onnxruntime-webgpu': '#2ca02c',
  'jax-js-webgpu': '#9467bd',
  'cpu-reference': '#7f7f7f',
};

export interface Series {
  impl: Impl;
  points: { size: number; tflops: number }[];
}

/** The square-matmul series: verified records with a size and a throughput, per impl, sorted by size. */
export function matmulSeries(records: readonly BenchRecord[]): Series[] {
  const byImpl = new Map<Impl, Series>();
  for (const r of records) {
    if (r.suite !== 'matmul' || r.size === undefined || r.tflops === null || !r.verified) continue;
    let s = byImpl.get(r.impl);
    if (!s) byImpl.set(r.impl, (s = { impl: r.impl, points: [] }));
    s.points.push({ size: r.size, tflops: r.tflops });
  }
  for (const s of byImpl.values()) s.points.sort((a, b) => a.size - b.size);
  return [...byImpl.values()];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A "nice" step (1, 2 or 5 × 10^k) giving about `count` ticks up to `max`. */
export function niceStep(max: number, count = 5): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

export function renderPlot(records: readonly BenchRecord[], title: string): string {
  const series = matmulSeries(records);
  const W = 760;
  const H = 460;
  const m = { left: 78, right: 200, top: 48, bottom: 62 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  const maxT = Math.max(0, ...all.map((p) => p.tflops));
  const giga = maxT < 0.1;
  const unit = giga ? 'GFLOP/s' : 'TFLOP/s';
  const scale = giga ? 1000 : 1;
  const sizes = [...new Set(all.map((p) => p.size))].sort((a, b) => a - b);
  const lo = Math.log2(sizes[0] ?? 128);
  const hi = Math.log2(sizes[sizes.length - 1] ?? 1024);
  const span = hi > lo ? hi - lo : 1;
  const x = (size: number) => m.left + (sizes.length > 1 ? ((Math.log2(size) - lo) / span) * pw : pw / 2);
  const step = niceStep(Math.max(maxT * scale, 1e-9));
  const yMax = Math.ceil((maxT * scale) / step) * step || step;
  const y = (v: number) => m.top + ph - (v / yMax) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.left + pw / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  // Grid and y ticks.
  for (let v = 0; v <= yMax + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${yy}" x2="${m.left + pw}" y2="${yy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${+v.toPrecision(4)}</text>`);
  }
  for (const s of sizes) {
    const xx = x(s).toFixed(1);
    out.push(`<line x1="${xx}" y1="${m.top}" x2="${xx}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${xx}" y="${m.top + ph + 18}" text-anchor="middle">${s}</text>`);
  }
  // Axes and their labels.
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="black"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="black"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 18}" text-anchor="middle">matrix size n (n×n · n×n, fp32; log scale)</text>`);
  out.push(`<text transform="translate(20 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${unit}</text>`);
  // Series.
  for (const s of series) {
    const color = COLORS[s.impl];
    const pts = s.points.map((p) => `${x(p.size).toFixed(1)},${y(p.tflops * scale).toFixed(1)}`);
    out.push(`<g class="series" data-impl="${s.impl}">`);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of s.points) {
      out.push(`<circle cx="${x(p.size).toFixed(1)}" cy="${y(p.tflops * scale).toFixed(1)}" r="4" fill="${color}"><title>${s.impl} n=${p.size}: ${+(p.tflops * scale).toPrecision(3)} ${unit}</title></circle>`);
    }
    out.push('</g>');
  }
  // Legend.
  const lx = m.left + pw + 20;
  out.push(`<text x="${lx}" y="${m.top + 4}" font-weight="bold">implementation</text>`);
  series.forEach((s, i) => {
    const ly = m.top + 24 + i * 22;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${COLORS[s.impl]}" stroke-width="2"/>`);
    out.push(`<circle cx="${lx + 12}" cy="${ly}" r="4" fill="${COLORS[s.impl]}"/>`);
    out.push(`<text x="${lx + 32}" y="${ly}" dominant-baseline="middle">${esc(s.impl)}</text>`);
  });
  const noteY = m.top + 24 + series.length * 22 + 10;
  const oursWall = records.some((r) => r.impl === 'webgpu-attention' && r.timing === 'wall-clock');
  const notes = ['verified results only', oursWall ? 'ours: wall clock (no timestamps)' : 'ours: GPU timestamps', 'peers: wall clock to a', 'drained queue'];
  notes.forEach((n, i) => out.push(`<text x="${lx}" y="${noteY + i * 13}" font-size="10" fill="#555">${n}</text>`));
  if (series.length === 0) out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph / 2}" text-anchor="middle" fill="#999">no verified square-matmul results</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
