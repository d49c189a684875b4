// The decode suite's "% copy" on this adapter: each row of ours carries the copy probe taken right before and right
// after its own timing (bench/copy-probe.ts, sized to the row's bytes), and its share is its GB/s over the larger of
// those two, never over the run-level peak. The run-level peak here is planted far from any real rate (a fraction
// computed from it is off by orders of magnitude, and the test says so). f16 rows get the same column.
import { describe, expect, it } from 'vitest';
import { prepareCopyProbe, probeSideBytes } from '../../bench/copy-probe.js';
import { formatNotes, formatTable, type BenchRecord } from '../../bench/report.js';
import { pairedFraction } from '../../bench/metrics.js';
import { chooseScale } from '../../bench/scale.js';
import type { BenchContext } from '../../bench/suites/common.js';
import { decodeSuite } from '../../bench/suites/decode.bench.js';
import { oursF16 } from '../../bench/suites/ours-f16.js';
import type { PeerPrecision } from '../../bench/peers/types.js';
import { freshSeed } from '../helpers/seeds.js';
import { skipWithout, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
/** Far from any copy rate this machine reaches: a share taken of it is ~10⁻⁶ of the true one. */
const PLANTED_RUN_PEAK = { fp32Tflops: 1e6, memoryGbps: 1e7, source: 'planted run-level peak' };
const LENGTHS = [37, 1500];

function context(precisions: PeerPrecision[], seed: number): BenchContext {
  const e = engine();
  const scale = chooseScale(true, true);
  return {
    engine: e, adapter: e.adapter.name, cpuName: 'cpu', peak: PLANTED_RUN_PEAK,
    scale: { ...scale, decode: { heads: 3, dHead: 64, lengths: LENGTHS } },
    run: { warmup: 1, runs: 3 }, seed, peerTimeoutMs: 60_000, tfjs: null, ort: null, jax: null,
    precisions, oursF16: oursF16(e.gpu), cpuLimit: 0, log: () => {},
  };
}

function expectOwnProbe(records: BenchRecord[], precision: 'f32' | 'f16', seed: number): void {
  const ours = records.filter((r) => r.impl === 'webgpu-attention' && r.precision === precision);
  expect(ours.map((r) => r.size), `seed ${seed}`).toEqual(LENGTHS);
  for (const r of ours) {
    const why = `${r.shape} ${precision}, seed ${seed}`;
    expect(r.verified, `${why}: ${r.error ?? ''}`).toBe(true);
    const p = r.copyProbe!;
    expect(p, why).toBeDefined();
    // The probe moves (reads + writes) about the row's bytes: half a side each, rounded down to 16 bytes.
    expect(p.bytes, why).toBe(2 * Math.floor(r.bytes / 2 / 16) * 16);
    for (const g of [p.beforeGbps, p.afterGbps]) expect(Number.isFinite(g) && g > 0, `${why}: probe ${g} GB/s`).toBe(true);
    expect(r.peakOf, why).toBe('copy');
    expect(r.peakFraction!, why).toBeCloseTo(r.gbps! / Math.max(p.beforeGbps, p.afterGbps), 12);
    // Five rounds of the probe then ours, each a positive rate; ours near the row's own rate (same stages, same bytes).
    expect(p.pairs, why).toHaveLength(5);
    for (const q of p.pairs!) expect(q.probeGbps > 0 && Number.isFinite(q.probeGbps) && q.oursGbps > 0 && Number.isFinite(q.oursGbps), `${why}: round ${JSON.stringify(q)}`).toBe(true);
    expect(pairedFraction(p)!.median, why).toBeGreaterThan(0);
    // What a fraction of the run-level peak would be: not this one.
    expect(Math.abs(r.peakFraction! - r.gbps! / PLANTED_RUN_PEAK.memoryGbps), why).toBeGreaterThan(r.peakFraction! / 2);
  }
  expect(formatTable(records)).toMatch(/% copy/);
  const notes = formatNotes(records, 'test adapter', PLANTED_RUN_PEAK);
  for (const r of ours) expect(notes).toContain(`copy probe beside decode/step ${r.shape} ${precision}: before `);
  expect(notes).toMatch(/paired \(5 rounds of the probe then ours, back to back\): median \d/);
}

describe('the decode suite against the copy probe beside each row', () => {
  it('f32 rows: each carries its own probe, and its share is of the larger of the two', async () => {
    const seed = freshSeed();
    expectOwnProbe(await decodeSuite(context(['f32'], seed)), 'f32', seed);
  });

  it('f16 rows: the same column (bandwidth is precision-free)', async (t) => {
    skipWithout(t, engine().gpu, 'shader-f16');
    const seed = freshSeed();
    expectOwnProbe(await decodeSuite(context(['f16'], seed)), 'f16', seed);
  });
});

describe('the copy probe at a row\'s size', () => {
  it('sizes itself to the traffic within one binding, checks its copy (sampled elements) before it times it, and reports a positive rate', async () => {
    const { gpu, cache } = engine();
    expect(probeSideBytes(gpu, 1000)).toBe(496);
    expect(probeSideBytes(gpu, 8)).toBe(16);
    expect(probeSideBytes(gpu, 1e15)).toBe(Math.floor(Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize) / 16) * 16);
    const probe = await prepareCopyProbe(gpu, cache, 4096 * 16 + 48);
    try {
      expect(probe.bytes).toBe(2 * (4096 * 16 + 48));
      const gbps = await probe.measure({ warmup: 1, runs: 2 });
      expect(Number.isFinite(gbps) && gbps > 0).toBe(true);
    } finally {
      probe.destroy();
    }
    await expect(prepareCopyProbe(gpu, cache, 40)).rejects.toThrow(/multiple of 16/);
  });
});
