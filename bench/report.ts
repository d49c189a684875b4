// One record per measurement (ours, a peer, or the CPU reference, on one shape), the human table and the
// JSON array. A record's time is never shown without its verification: a wrong answer is marked WRONG and
// gets no speed-up ratio.

import type { Summary } from '../src/stats.js';
import { besideFraction, gbpsOf, pairedFraction, peakFraction, tflopsOf, type CopyBeside, type Peak } from './metrics.js';

export type Impl = 'webgpu-attention' | 'tfjs-webgpu' | 'onnxruntime-webgpu' | 'jax-js-webgpu' | 'cpu-reference';
/**
 * Storage precision of a row's inputs and outputs (f16 rows: f16-rounded inputs; the CPU reference is f64), spelled
 * as the engine and the command spell it. Files written before 2026-12-06 say fp32/fp16/fp64: parseRecords reads both.
 */
export type RecordPrecision = 'f32' | 'f16' | 'f64';
export type Status = 'ok' | 'wrong' | 'timed out' | 'error' | 'not available';
/**
 * timestamp-query: GPU time of the compute passes; wall-clock: our submit → queue drained (no timestamp
 * feature); wall-clock-drained: a peer's op issued → its queue drained; cpu: wall clock of the JS loops.
 */
export type TimingSource = 'timestamp-query' | 'wall-clock' | 'wall-clock-drained' | 'cpu';

export interface BenchRecord {
  suite: string;
  name: string;
  shape: string;
  impl: Impl;
  precision: RecordPrecision;
  medianMs: number | null;
  minMs: number | null;
  maxMs: number | null;
  tflops: number | null;
  gbps: number | null;
  verified: boolean;
  maxRelError: number | null;
  adapter: string;
  status: Status;
  timing: TimingSource;
  samples: number;
  flops: number;
  bytes: number;
  /**
   * Of the f32 FLOP peak (compute-bound work), of the run-level memory peak ('memory': peers' bandwidth-bound rows),
   * or of the copy probe taken beside this row ('copy': ours on bandwidth-bound rows, `copyProbe`); null when unknown.
   */
  peakFraction: number | null;
  peakOf: 'f32' | 'memory' | 'copy' | null;
  /** Ours on bandwidth-bound rows (no FLOPs counted: decode, softmax): the copy probe right before and after its timing. */
  copyProbe?: CopyBeside;
  /** How the output was checked: 'all N' or 'sampled 256 of N'. */
  check: string;
  /** Matrix size n for the square matmuls (the plot's x axis). */
  size?: number;
  /** Ours: median wall clock from submit to drained queue, the figure compared with the peers' wall clock. */
  wallMedianMs?: number;
  /** Ours, per stage: median GPU ms (timestamp queries). */
  stagesMs?: Record<string, number>;
  /** Ours, when `name` names one of our variants ('core causal, fused'): the peers' name to compare with. */
  comparedWith?: string;
  /** Ours: each peer's median ÷ ours (both wall clock to a drained queue), or why there is no ratio. */
  speedups?: Partial<Record<Impl, number | string>>;
  error?: string;
}

export interface Measurement {
  suite: string;
  name: string;
  shape: string;
  impl: Impl;
  adapter: string;
  flops: number;
  bytes: number;
  size?: number;
  /** Default f32 (f64 for the CPU reference). */
  precision?: 'f32' | 'f16';
}

export function makeRecord(m: Measurement, timing: TimingSource, summary: Pick<Summary, 'medianMs' | 'minMs' | 'maxMs' | 'samples'> | null, check: { passed: boolean; maxRelError: number; what: string } | null, peak: Peak | null, extra: Partial<BenchRecord> = {}): BenchRecord {
  const median = summary?.medianMs ?? null;
  const tflops = median === null ? null : tflopsOf(m.flops, median);
  const gbps = median === null ? null : gbpsOf(m.bytes, median);
  // Beside a row's own copy probe, its share is of that probe, never of the run-level peak.
  const beside = extra.copyProbe ? besideFraction(gbps, extra.copyProbe) : null;
  const share = m.impl === 'cpu-reference' ? null : extra.copyProbe ? (beside === null ? null : { fraction: beside, of: 'copy' as const }) : peakFraction(peak, tflops, gbps);
  const status: Status = extra.status ?? (check?.passed ? 'ok' : 'wrong');
  return {
    suite: m.suite,
    name: m.name,
    shape: m.shape,
    impl: m.impl,
    precision: m.impl === 'cpu-reference' ? 'f64' : (m.precision ?? 'f32'),
    medianMs: median,
    minMs: summary?.minMs ?? null,
    maxMs: summary?.maxMs ?? null,
    tflops,
    gbps,
    verified: status === 'ok' && !!check?.passed,
    maxRelError: check ? check.maxRelError : null,
    adapter: m.adapter,
    status,
    timing,
    samples: summary?.samples ?? 0,
    flops: m.flops,
    bytes: m.bytes,
    peakFraction: share?.fraction ?? null,
    peakOf: share?.of ?? null,
    check: check?.what ?? '',
    ...(m.size !== undefined ? { size: m.size } : {}),
    ...extra,
  };
}

/** A record for an implementation that produced no time (timed out, failed, not installed). */
export function failedRecord(m: Measurement, status: Exclude<Status, 'ok' | 'wrong'>, error: string, timing: TimingSource): BenchRecord {
  return { ...makeRecord(m, timing, null, null, null, { status, error }), verified: false };
}

/**
 * Fills `speedups` of our record in each group of records of one suite, name, shape and precision (an f16 row
 * is compared with the peers' f16 rows; the f64 CPU reference, run once per shape, with our f32 row).
 */
export function addSpeedups(records: BenchRecord[]): void {
  // Ours not available (an f16 row without our f16 kernels) has nothing to compare.
  for (const ours of records.filter((r) => r.impl === 'webgpu-attention' && r.status !== 'not available')) {
    const oursMs = ours.wallMedianMs ?? ours.medianMs;
    const speedups: Partial<Record<Impl, number | string>> = {};
    for (const peer of records) {
      if (peer.impl === 'webgpu-attention' || peer.suite !== ours.suite || peer.name !== (ours.comparedWith ?? ours.name) || peer.shape !== ours.shape) continue;
      if (peer.impl === 'cpu-reference' ? ours.precision !== 'f32' : peer.precision !== ours.precision) continue;
      if (!ours.verified) speedups[peer.impl] = ours.status === 'ok' || ours.status === 'wrong' ? 'ours wrong' : `ours ${ours.status}`;
      else if (peer.status !== 'ok' || !peer.verified) speedups[peer.impl] = peer.status === 'ok' ? 'wrong' : peer.status;
      else if (peer.medianMs && oursMs) speedups[peer.impl] = peer.medianMs / oursMs;
    }
    if (Object.keys(speedups).length) ours.speedups = speedups;
  }
}

const SHORT: Record<Impl, string> = { 'webgpu-attention': 'ours', 'tfjs-webgpu': 'tfjs', 'onnxruntime-webgpu': 'ort', 'jax-js-webgpu': 'jax', 'cpu-reference': 'cpu' };

function num(v: number | null, digits = 3): string {
  if (v === null || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 0.01) return v.toPrecision(digits);
  return v.toExponential(1);
}

function verdict(r: BenchRecord): string {
  const err = r.maxRelError === null ? '' : ` ${num(r.maxRelError, 2)}`;
  switch (r.status) {
    case 'ok':
      return `yes${err}`;
    case 'wrong':
      return `WRONG${err}`;
    default:
      return r.status;
  }
}

function ratios(r: BenchRecord): string {
  if (!r.speedups) return '';
  return Object.entries(r.speedups)
    .map(([impl, v]) => `${SHORT[impl as Impl]} ${typeof v === 'number' ? `${num(v, 2)}×` : v}`)
    .join(', ');
}

export const TABLE_COLUMNS = ['suite', 'name', 'shape', 'impl', 'precision', 'median ms', 'min', 'max', 'TFLOP/s', 'GB/s', '% peak', 'vs peers', 'verified'];

export function tableRows(records: readonly BenchRecord[]): string[][] {
  return records.map((r) => [
    r.suite,
    r.name,
    r.shape,
    r.impl,
    r.precision,
    num(r.medianMs),
    num(r.minMs),
    num(r.maxMs),
    num(r.tflops),
    num(r.gbps),
    r.peakFraction === null ? '' : `${(r.peakFraction * 100).toFixed(1)}%${r.peakOf === 'memory' ? ' mem' : r.peakOf === 'copy' ? ' copy' : ''}`,
    ratios(r),
    verdict(r),
  ]);
}

/** Fixed-width text table; numeric columns right-aligned. */
export function formatTable(records: readonly BenchRecord[]): string {
  const rows = [TABLE_COLUMNS, ...tableRows(records)];
  const widths = TABLE_COLUMNS.map((_, c) => Math.max(...rows.map((row) => [...row[c]!].length)));
  const right = new Set([5, 6, 7, 8, 9, 10]);
  const line = (row: string[]) =>
    row.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Lines under the table: how each figure was obtained, then every failure's message. */
export function formatNotes(records: readonly BenchRecord[], adapter: string, peak: Peak | null): string {
  const sources = new Set(records.map((r) => r.timing));
  const lines = [
    `adapter: ${adapter}${peak ? ` (peak: ${peak.source})` : ' (peak unknown: no % peak)'}`,
    'times: median, min, max over the timed runs after warm-up;' +
      (sources.has('timestamp-query') ? ' ours = GPU time of its compute passes (timestamp queries);' : '') +
      (sources.has('wall-clock') ? ' ours = WALL CLOCK submit → queue drained (no timestamp-query feature);' : '') +
      ' peers = wall clock from issuing the op to a drained queue; cpu-reference = wall clock of float64 JS loops.',
    'TFLOP/s = useful FLOPs (2 per multiply-add; masked pairs not counted, the same count for every impl) / median;' +
      ' GB/s = 4 bytes × (every input value read once + every output written once) / median.',
    'vs peers = peer median ÷ our median, both measured the same way (wall clock to a drained queue): > 1 means ours is faster.',
    'verified = output checked in this run against float64 values recomputed on the CPU (max relative error shown;' +
      ' "sampled" = 256 random elements recomputed exactly); WRONG = some element outside its allowance, derived for the' +
      ' operation from its inputs by src/verify/tolerance.ts (the same rule for ours and every peer; bench/verify.ts allowanceAt).',
  ];
  if (records.some((r) => r.precision === 'f16')) {
    lines.push(
      'f16 rows: inputs rounded to f16 and stored as f16 (GB/s counts 2 bytes a value), checked against float64 from those rounded' +
        ' inputs: the same derived allowance for f32 arithmetic plus one f16 rounding of the output (the attention core also' +
        ' allows f16-stored scores and pattern); a library computing in f16 is WRONG by it; bandwidth-bound rows get % of' +
        ' memory bandwidth as f32 rows do (bytes are precision-free), no row gets % of a FLOP peak (no f16 FLOP peak known).',
    );
  }
  const beside = records.filter((r) => r.copyProbe);
  if (beside.length) {
    lines.push(
      '% copy (ours, bandwidth-bound rows) = the row\'s GB/s ÷ the larger of two runs of the copy probe (bench/copy-probe.ts)' +
        ' taken right before and right after its timing, each reading + writing about the row\'s bytes (same working set):' +
        ' a lower bound on the share; "paired": rounds of the probe and ours back to back after that timing, the median of' +
        ' their ratios (a drift of the shared machine moves both sides of a round alike); % mem (peers\' rows) = of the' +
        ' run-level copy probe in the adapter line.',
    );
    for (const r of beside) lines.push(besideLine(r, peak));
  }
  for (const r of records) {
    if (!r.stagesMs || r.impl !== 'webgpu-attention') continue;
    const parts = Object.entries(r.stagesMs).map(([stage, ms]) => `${stage} ${num(ms)}`);
    lines.push(`stages of ${r.suite}/${r.name} (ours, median GPU ms${r.suite === 'stack' ? ', summed over layers' : ''}): ${parts.join(', ')}`);
  }
  // Each failure once per impl and message (a peer that is not available says so once, not per shape).
  const seen = new Map<string, string[]>();
  for (const r of records) {
    if (!r.error) continue;
    const key = `${r.impl}: ${r.status}: ${r.error}`;
    seen.set(key, [...(seen.get(key) ?? []), `${r.suite}/${r.name}`]);
  }
  for (const [key, where] of seen) lines.push(`${key} (${where.length > 3 ? `${where.length} measurements` : where.join(', ')})`);
  return lines.join('\n');
}

/** One row's copy probe beside it, its share of that probe, and for comparison its share of the run-level peak. */
function besideLine(r: BenchRecord, peak: Peak | null): string {
  const p = r.copyProbe!;
  const share = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
  const run = peak?.memoryGbps && r.gbps !== null ? `; of the run-level ${num(peak.memoryGbps)} GB/s: ${share(r.gbps / peak.memoryGbps)}` : '';
  const paired = pairedFraction(p);
  const rounds = paired ? `; paired (${p.pairs!.length} rounds of the probe then ours, back to back): median ${share(paired.median)}, ${share(paired.min)}–${share(paired.max)}` : '';
  return `copy probe beside ${r.suite}/${r.name} ${r.shape} ${r.precision}: before ${num(p.beforeGbps)}, after ${num(p.afterGbps)} GB/s` +
    ` (${num(p.bytes / 1e6)} MB read + written); ours ${num(r.gbps)} GB/s = ${share(r.peakFraction)} of the larger${rounds}${run}`;
}

/** The --json output: one array, one object per measurement. */
export const toJson = (records: readonly BenchRecord[]): string =>
  JSON.stringify(records, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);

/** The spellings of files written before 2026-12-06. */
const LEGACY_PRECISION: Record<string, RecordPrecision> = { fp32: 'f32', fp16: 'f16', fp64: 'f64' };

/** Records from a benchmark JSON file (toJson's), old or new: fp32/fp16/fp64 read as f32/f16/f64. */
export function parseRecords(text: string): BenchRecord[] {
  const rows = JSON.parse(text) as unknown;
  if (!Array.isArray(rows)) throw new Error('a benchmark JSON file holds an array of records');
  return rows.map((r: BenchRecord & { precision: string; peakOf: string | null }) => ({
    ...r,
    precision: LEGACY_PRECISION[r.precision] ?? r.precision,
    peakOf: (r.peakOf as string | null) === 'fp32' ? 'f32' : r.peakOf,
  }) as BenchRecord);
}
