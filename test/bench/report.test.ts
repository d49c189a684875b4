// The benchmark's pure parts, without a GPU and without timing assertions: order statistics, throughput
// formulas, the JSON record, speed-up ratios (never against a wrong answer), the SVG plot, the reference
// used for verification, and the command line.

import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/args.js';
import { makeInputs, opBytes, opFlops, outputElements, type OpCase } from '../../bench/inputs.js';
import { besideFraction, pairedFraction, gbpsOf, memoryPeakOnly, peakFor, peakFraction, tflopsOf } from '../../bench/metrics.js';
import { median, quantile, summarize } from '../../src/stats.js';
import { matmulSeries, niceStep, renderPlot } from '../../bench/plot.js';
import { addSpeedups, failedRecord, formatNotes, formatTable, makeRecord, parseRecords, toJson, type BenchRecord, type Impl, type Measurement } from '../../bench/report.js';
import { allowanceAt, checkIndices, checkOutput, referenceAt, SAMPLE_COUNT } from '../../bench/verify.js';
import { matmul as refMatmul, softmaxRows } from '../../src/reference/attention.js';

const REQUIRED_KEYS = ['suite', 'name', 'shape', 'impl', 'precision', 'medianMs', 'minMs', 'maxMs', 'tflops', 'gbps', 'verified', 'maxRelError', 'adapter'];

const meas = (impl: Impl, size = 256): Measurement => ({
  suite: 'matmul', name: `square ${size}`, shape: `[${size}×${size}]·[${size}×${size}]`, impl, adapter: 'test adapter',
  flops: 2 * size ** 3, bytes: 4 * 3 * size * size, size,
});
const ok = { passed: true, maxRelError: 1e-6, what: 'all 65536' };
const wrong = { passed: false, maxRelError: 0.3, what: 'all 65536' };
const stats = (medianMs: number) => ({ medianMs, minMs: medianMs * 0.9, maxMs: medianMs * 1.2, samples: 10 });

describe('statistics', () => {
  it('median, min, max, quantiles', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ medianMs: 3, minMs: 1, maxMs: 5, samples: 5 });
    expect(summarize([4, 1, 3, 2]).medianMs).toBe(2.5); // even count: mean of the middle two
    expect(quantile([0, 10], 0.1)).toBeCloseTo(1); // interpolated, never rounded to a sample
    expect(quantile([10, 0, 5], 0.25)).toBeCloseTo(2.5); // any order
    expect(median([7])).toBe(7);
    expect(quantile([1, 2, 3], 0)).toBe(1);
    expect(quantile([1, 2, 3], 1)).toBe(3);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
    expect(() => summarize([])).toThrow();
  });
});

describe('throughput formulas', () => {
  it('TFLOP/s and GB/s', () => {
    // 2·1024³ FLOPs in 1 ms = 2.147 TFLOP/s; 12 MiB in 1 ms = 12.58 GB/s.
    expect(tflopsOf(2 * 1024 ** 3, 1)).toBeCloseTo(2.147483648, 9);
    expect(gbpsOf(12 * 2 ** 20, 1)).toBeCloseTo(12.582912, 9);
    expect(tflopsOf(0, 1)).toBeNull();
    expect(gbpsOf(100, 0)).toBeNull();
  });
  it('FLOP and byte counts per op', () => {
    const mm: OpCase = { op: 'matmul', M: 2, N: 3, K: 4, batch: 5, transB: true, pattern: false };
    expect(opFlops(mm)).toBe(2 * 2 * 3 * 4 * 5);
    expect(opBytes(mm)).toBe(4 * 5 * (2 * 4 + 4 * 3 + 2 * 3));
    // Causal pattern·V: only the n(n+1)/2 visible pairs per head count.
    expect(opFlops({ op: 'matmul', M: 4, N: 8, K: 4, batch: 2, transB: false, pattern: true })).toBe(2 * 2 * 10 * 8);
    expect(opFlops({ op: 'attention', heads: 96, seq: 2048, dHead: 128, causal: true })).toBe(4 * 96 * ((2048 * 2049) / 2) * 128);
    expect(opBytes({ op: 'softmax', rows: 10, cols: 20, seq: 20, causal: true })).toBe(4 * 2 * 200);
  });
  it('peak fractions only for known adapters', () => {
    const h100 = peakFor('nvidia hopper nvidia-h100-80gb-hbm3');
    expect(h100?.fp32Tflops).toBe(67);
    expect(peakFraction(h100, 33.5, 100)).toEqual({ fraction: 0.5, of: 'f32' });
    expect(peakFraction(h100, null, 1500)).toEqual({ fraction: 0.5, of: 'memory' });
    expect(peakFor('llvmpipe')).toBeNull();
    expect(peakFraction(null, 1, 1)).toBeNull();
  });
});

describe('records', () => {
  it('JSON record shape', () => {
    const r = makeRecord(meas('webgpu-attention'), 'timestamp-query', stats(2), ok, peakFor('h100'), { wallMedianMs: 2.5 });
    const parsed = JSON.parse(toJson([r])) as Record<string, unknown>[];
    expect(parsed).toHaveLength(1);
    for (const key of REQUIRED_KEYS) expect(parsed[0]).toHaveProperty(key);
    expect(parsed[0]).toMatchObject({ impl: 'webgpu-attention', precision: 'f32', medianMs: 2, verified: true, maxRelError: 1e-6, adapter: 'test adapter' });
    expect(r.tflops).toBeCloseTo((2 * 256 ** 3) / 2e9, 12);
    expect(r.peakFraction).toBeCloseTo(r.tflops! / 67, 12);
    // Non-finite errors survive JSON as strings.
    const bad = makeRecord(meas('tfjs-webgpu'), 'wall-clock-drained', stats(1), { ...wrong, maxRelError: Infinity }, null);
    expect((JSON.parse(toJson([bad])) as { maxRelError: unknown }[])[0]!.maxRelError).toBe('Infinity');
  });
  it('JSON files read back, those written with fp32/fp16/fp64 too', () => {
    const r = makeRecord(meas('webgpu-attention'), 'timestamp-query', stats(2), ok, peakFor('h100'));
    expect(parseRecords(toJson([r]))[0]).toMatchObject({ precision: 'f32', peakOf: 'f32', medianMs: 2 });
    const old = toJson([r]).replace('"precision": "f32"', '"precision": "fp16"').replace('"peakOf": "f32"', '"peakOf": "fp32"');
    expect(old).toContain('"fp16"');
    expect(parseRecords(old)[0]).toMatchObject({ precision: 'f16', peakOf: 'f32' });
    expect(parseRecords('[{"precision": "fp64", "peakOf": null}]')[0]).toMatchObject({ precision: 'f64', peakOf: null });
    expect(() => parseRecords('{}')).toThrow(/array of records/);
  });
  it('a wrong answer is marked wrong and gets no ratio; failures carry no time', () => {
    const ours = makeRecord(meas('webgpu-attention'), 'timestamp-query', stats(1), ok, null, { wallMedianMs: 1 });
    const tfjs = makeRecord(meas('tfjs-webgpu'), 'wall-clock-drained', stats(3), ok, null);
    const ort = makeRecord(meas('onnxruntime-webgpu'), 'wall-clock-drained', stats(0.5), wrong, null);
    const cpu = failedRecord(meas('cpu-reference'), 'timed out', 'too slow', 'cpu');
    const records: BenchRecord[] = [ours, tfjs, ort, cpu];
    addSpeedups(records);
    expect(ort).toMatchObject({ status: 'wrong', verified: false, maxRelError: 0.3 });
    expect(cpu).toMatchObject({ status: 'timed out', verified: false, medianMs: null, tflops: null });
    expect(ours.speedups).toEqual({ 'tfjs-webgpu': 3, 'onnxruntime-webgpu': 'wrong', 'cpu-reference': 'timed out' });
    const table = formatTable(records);
    expect(table).toContain('WRONG');
    expect(table).toContain('tfjs 3.0×');
    expect(table.split('\n')[0]).toMatch(/suite +name +shape +impl +precision +median ms +min +max +TFLOP\/s +GB\/s +% peak +vs peers +verified/);
  });
});

describe('bandwidth-bound rows against the copy probe beside them', () => {
  // A decode row: 8 MB in 2 ms = 4 GB/s; its probes 5 and 8 GB/s; the run-level probe 20 GB/s.
  const dec = (impl: Impl, precision?: 'f16'): Measurement => ({
    suite: 'decode', name: 'step', shape: '8h n_kv=8192 d=64', impl, adapter: 'test adapter', flops: 0, bytes: 8e6, size: 8192,
    ...(precision ? { precision } : {}),
  });
  const runPeak = { fp32Tflops: 0.02, memoryGbps: 20, source: 'run-level probe' };
  const copyProbe = { bytes: 8e6, beforeGbps: 5, afterGbps: 8 };

  it('ours: the share is of the larger probe (a lower bound), not of the run-level peak; peers keep the run-level one', () => {
    expect(besideFraction(4, copyProbe)).toBe(0.5);
    expect(besideFraction(4, { ...copyProbe, afterGbps: 2 })).toBe(0.8);
    expect(besideFraction(null, copyProbe)).toBeNull();
    expect(besideFraction(4, { ...copyProbe, beforeGbps: 0, afterGbps: 0 })).toBeNull();
    const ours = makeRecord(dec('webgpu-attention'), 'timestamp-query', stats(2), ok, runPeak, { copyProbe });
    expect(ours).toMatchObject({ gbps: 4, peakFraction: 0.5, peakOf: 'copy', copyProbe });
    const peer = makeRecord(dec('onnxruntime-webgpu'), 'wall-clock-drained', stats(4), ok, runPeak);
    expect(peer).toMatchObject({ gbps: 2, peakFraction: 0.1, peakOf: 'memory' });
    expect(peer.copyProbe).toBeUndefined();
    expect(parseRecords(toJson([ours]))[0]).toMatchObject({ peakOf: 'copy', copyProbe });
    const table = formatTable([ours, peer]);
    expect(table).toMatch(/50\.0% copy/);
    expect(table).toMatch(/10\.0% mem/);
    const notes = formatNotes([ours, peer], 'test adapter', runPeak);
    expect(notes).toContain('copy probe beside decode/step 8h n_kv=8192 d=64 f32: before 5.00, after 8.00 GB/s (8.00 MB read + written); ours 4.00 GB/s = 50.0 % of the larger; of the run-level 20.0 GB/s: 20.0 %');
    expect(notes).toMatch(/% copy \(ours, bandwidth-bound rows\) = .* the larger of two runs of the copy probe/);
  });

  it('paired rounds: the median of each round\'s ours ÷ probe, with its range, beside the larger-probe share', () => {
    // Rounds at 4/5, 3/6, 6/5 (the machine slowing and recovering): ratios 0.8, 0.5, 1.2; median 0.8.
    const pairs = [{ probeGbps: 5, oursGbps: 4 }, { probeGbps: 6, oursGbps: 3 }, { probeGbps: 5, oursGbps: 6 }];
    expect(pairedFraction({ ...copyProbe, pairs })).toEqual({ median: 0.8, min: 0.5, max: 1.2 });
    expect(pairedFraction({ ...copyProbe, pairs: pairs.slice(0, 2) })!.median).toBeCloseTo(0.65, 12);
    expect(pairedFraction(copyProbe)).toBeNull();
    const ours = makeRecord(dec('webgpu-attention'), 'timestamp-query', stats(2), ok, runPeak, { copyProbe: { ...copyProbe, pairs } });
    expect(ours.peakFraction).toBe(0.5); // the column stays the lower bound
    const notes = formatNotes([ours], 'test adapter', runPeak);
    expect(notes).toContain('= 50.0 % of the larger; paired (3 rounds of the probe then ours, back to back): median 80.0 %, 50.0 %–120.0 %; of the run-level');
  });

  it('f16 rows: % of memory bandwidth as f32 rows, no % of the f32 FLOP peak', () => {
    expect(memoryPeakOnly(runPeak)).toEqual({ memoryGbps: 20, source: 'run-level probe' });
    expect(memoryPeakOnly({ fp32Tflops: 67, source: 'no memory figure' })).toBeNull();
    expect(memoryPeakOnly(null)).toBeNull();
    const ours = makeRecord(dec('webgpu-attention', 'f16'), 'timestamp-query', stats(1), ok, memoryPeakOnly(runPeak), { copyProbe });
    expect(ours).toMatchObject({ precision: 'f16', gbps: 8, peakFraction: 1, peakOf: 'copy' });
    const peer = makeRecord(dec('jax-js-webgpu', 'f16'), 'wall-clock-drained', stats(2), ok, memoryPeakOnly(runPeak));
    expect(peer).toMatchObject({ peakFraction: 0.2, peakOf: 'memory' });
    // A compute-bound f16 row gets none: its peak would be an f16 FLOP rate, which is not known.
    expect(makeRecord({ ...meas('webgpu-attention'), precision: 'f16' }, 'timestamp-query', stats(1), ok, memoryPeakOnly(runPeak)).peakFraction).toBeNull();
  });
});

describe('plot', () => {
  it('draws one series per impl from verified square matmuls', () => {
    const records = [128, 256, 512].flatMap((n) => [
      makeRecord(meas('webgpu-attention', n), 'timestamp-query', stats(n / 100), ok, null),
      makeRecord(meas('tfjs-webgpu', n), 'wall-clock-drained', stats(n / 50), ok, null),
      makeRecord(meas('onnxruntime-webgpu', n), 'wall-clock-drained', stats(n / 50), wrong, null),
    ]);
    const series = matmulSeries(records);
    expect(series.map((s) => s.impl)).toEqual(['webgpu-attention', 'tfjs-webgpu']);
    expect(series[0]!.points.map((p) => p.size)).toEqual([128, 256, 512]);
    const svg = renderPlot(records, 'test <adapter>');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('data-impl="webgpu-attention"');
    expect(svg).toContain('data-impl="tfjs-webgpu"');
    expect(svg).not.toContain('data-impl="onnxruntime-webgpu"');
    expect(svg).toContain('test &lt;adapter&gt;');
    expect(svg).toContain('matrix size n');
    expect(svg).toMatch(/[GT]FLOP\/s/);
    expect((svg.match(/<polyline/g) ?? []).length).toBe(2);
    expect(niceStep(7.3)).toBe(2);
  });
});

describe('verification reference', () => {
  it('full check at small shapes agrees with src/reference', () => {
    const c: OpCase = { op: 'matmul', M: 5, N: 7, K: 3, batch: 1, transB: false, pattern: false };
    const x = makeInputs(c, 3);
    if (x.op !== 'matmul') throw new Error('matmul inputs expected');
    expect(checkIndices(c)).toBeNull();
    const ref = referenceAt(c, x, null);
    expect(Array.from(ref)).toEqual(Array.from(refMatmul(x.a, x.b, 5, 7, 3)));
    const tol = allowanceAt(c, x, null, ref);
    expect(checkOutput(c, Float32Array.from(ref), ref, null, tol).passed).toBe(true);
    const off = Float32Array.from(ref);
    off[4] = off[4]! + 1e-5;
    expect(checkOutput(c, off, ref, null, tol)).toMatchObject({ passed: false, detail: expect.stringMatching(/^element 4: /) });
  });
  it('samples big outputs; masked softmax entries must be exactly 0', () => {
    const c: OpCase = { op: 'softmax', rows: 2 * 512, cols: 512, seq: 512, causal: true };
    const idx = checkIndices(c)!;
    expect(idx).toHaveLength(SAMPLE_COUNT);
    expect(new Set(idx).size).toBe(SAMPLE_COUNT);
    expect(Math.max(...idx)).toBeLessThan(outputElements(c));
    const x = makeInputs(c, 1);
    if (x.op !== 'softmax') throw new Error('softmax inputs expected');
    const ref = referenceAt(c, x, idx);
    const full = softmaxRows(Float64Array.from(x.x), c.rows, c.cols, { causal: true, queryRowsPerBlock: c.seq });
    idx.forEach((at, i) => expect(ref[i]).toBeCloseTo(full[at]!, 14));
    const got = Float32Array.from(ref);
    const masked = idx.findIndex((at) => at % 512 > (Math.floor(at / 512) % 512));
    const tol = allowanceAt(c, x, idx, ref);
    expect(checkOutput(c, got, ref, idx, tol).passed).toBe(true);
    got[masked] = 1e-30; // a masked entry must be exactly 0
    expect(checkOutput(c, got, ref, idx, tol)).toMatchObject({ passed: false, detail: expect.stringMatching(/^masked element /) });
  });
});

describe('command line', () => {
  it('parses flags', () => {
    expect(parseArgs(['--quick', '--json', '--plot', 'a.svg', '--suite', 'matmul,softmax', '--peers', 'none', '--runs', '12', '--warmup=2']))
      .toMatchObject({ quick: true, json: true, plot: 'a.svg', suites: ['matmul', 'softmax'], peers: [], runs: 12, warmup: 2 });
    expect(parseArgs([])).toMatchObject({ runs: 10, peers: ['tfjs', 'ort', 'jax', 'cpu'], suites: null });
    expect(() => parseArgs(['--suite', 'nope'])).toThrow(/unknown "nope"/);
    expect(() => parseArgs(['--runs', '0'])).toThrow();
  });
});
