// The benchmark's peak probes (bench/peak.ts) on this adapter: finite, positive rates, and the FMA
// probe's own check of its result (a probe that did no work would claim any peak).
import { describe, expect, it } from 'vitest';
import { measurePeak } from '../../bench/peak.js';
import { useEngine } from '../helpers/gpu.js';

const engine = useEngine();

describe('peak probes', () => {
  it('measure a positive FMA rate and copy bandwidth, and name their source', async () => {
    const e = engine();
    const peak = await measurePeak(e.gpu, e.cache, e.adapter.isSoftware);
    expect(peak.fp32Tflops).toBeGreaterThan(0);
    expect(Number.isFinite(peak.fp32Tflops)).toBe(true);
    expect(peak.memoryGbps).toBeGreaterThan(0);
    expect(peak.source).toMatch(/^measured in this run: FMA probe .* copy .* GB\/s/);
  });
});
