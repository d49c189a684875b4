// The CLI's software-adapter refusal (src/cli/slow-run.ts): priced from the rates measured on the adapter (the page's
// probe and estimate, src/model/rates.ts), the probe skipped where floor rates already clear the run, a fixed rate only
// where the probe failed, and no suggestion the same estimate would refuse. Pure over given rates, then on this
// machine's adapter with its own measured rates.

import { describe, expect, it } from 'vitest';
import { useEngine } from '../helpers/gpu.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import { layerFlops, parameterCount } from '../../src/model/flops.js';
import { estimateSeconds, knownRates, measuredRates, type Rates } from '../../src/model/rates.js';
import {
  boundCheck, checkSoftwareRun, FIXED_FLOPS_PER_S, FLOOR_FLOPS_PER_S, FLOOR_WEIGHTS_PER_S, formatRate, measuredCheck, refusalMessage,
  SlowRunRefusal, SOFTWARE_REFUSE_S, suggestionConfig, SUGGESTED_FLAGS, type PricedCheck,
} from '../../src/cli/slow-run.js';

const probeAt = (flopsPerS: number, weightsPerS: number | null = 1.5e8): Rates => ({
  samples: [{ width: 512 * 512, dModel: 512, flopsPerS, from: 'probe' }], weightsPerS, error: null,
});
const WIDE = { heads: 16, dModel: 2048, dHead: 128, seq: 64 };

/** The fewest layers of `base` the estimate puts over the limit: L − 1 layers are under it ("just over"). */
function justOver(base: Partial<AttentionConfig>, price: (cfg: AttentionConfig) => number): { over: AttentionConfig; under: AttentionConfig } {
  const perLayer = price(resolveConfig({ ...base, layers: 1 }));
  let layers = Math.max(1, Math.floor(SOFTWARE_REFUSE_S / perLayer));
  while (price(resolveConfig({ ...base, layers })) <= SOFTWARE_REFUSE_S) layers++;
  return { over: resolveConfig({ ...base, layers }), under: resolveConfig({ ...base, layers: layers - 1 }) };
}

const refusal = (check: PricedCheck, rates: Rates) => refusalMessage('lavapipe', check, (c) => measuredCheck(c, rates, null));

describe('pricing a software run (pure)', () => {
  it('at a measured rate: just over the limit is refused with that rate and where it was measured, one layer fewer is not', () => {
    for (const flopsPerS of [8.6e7, 5.8e9, 2e11]) {
      const rates = probeAt(flopsPerS);
      const { over, under } = justOver(WIDE, (c) => estimateSeconds(rates, c)!);
      const refused = measuredCheck(over, rates, 250);
      expect(refused).toMatchObject({ by: 'probe', refused: true, flopsPerS, weightsPerS: 1.5e8, probeMs: 250, seconds: estimateSeconds(rates, over) });
      expect(refused.seconds).toBeGreaterThan(SOFTWARE_REFUSE_S);
      expect(refused.seconds).toBeLessThan(SOFTWARE_REFUSE_S * 1.1);
      expect(refusal(refused, rates)).toContain(`at ${formatRate(flopsPerS)} (measured here: probe d_model 512, 4 heads × 128, 16 tokens) and its weights at 150 M/s`);
      expect(refusal(refused, rates)).toMatch(/^lavapipe is a software adapter: this configuration would take about 10 min at .*Add --force to run it anyway/);
      expect(measuredCheck(under, rates, 250)).toMatchObject({ by: 'probe', refused: false });
    }
  });

  it('the floor bound: under the limit at the floor rates needs no probe; just over it does', () => {
    const atFloor = (c: AttentionConfig) => layerFlops(c).total * c.layers / FLOOR_FLOPS_PER_S + parameterCount(c).total / FLOOR_WEIGHTS_PER_S;
    const { over, under } = justOver({ heads: 8, dModel: 1024, dHead: 128, seq: 128 }, atFloor);
    expect(boundCheck(under)).toMatchObject({ by: 'bound', refused: false, probeMs: null, seconds: atFloor(under) });
    expect(boundCheck(over)).toMatchObject({ by: 'bound', refused: true });
    // The floor is slower than any software adapter measured (SwiftShader's slowest probe: 86 MFLOP/s), so what it
    // clears is under the limit at every rate above it.
    for (const rate of [FLOOR_FLOPS_PER_S, 8.6e7, 5.8e9]) expect(measuredCheck(under, probeAt(rate, FLOOR_WEIGHTS_PER_S), null).refused).toBe(false);
  });

  it('a failed probe falls back to the fixed rate and says so', () => {
    const failed: Rates = { samples: [], weightsPerS: null, error: 'device lost\u001b[2J' };
    const gpt3 = resolveConfig({}, { ...resolveConfig({ heads: 96, dModel: 12288, dHead: 128 }), layers: 96, seq: 2048, kvSeq: 2048 });
    const check = measuredCheck(gpt3, failed, 30);
    expect(check).toMatchObject({ by: 'fixed', refused: true, flopsPerS: FIXED_FLOPS_PER_S, seconds: layerFlops(gpt3).total * 96 / FIXED_FLOPS_PER_S });
    const message = refusal(check, failed);
    expect(message).toContain('at ~4.0 GFLOP/s (a fixed rate: the probe failed, device lost');
    expect(message).not.toContain('\u001b');
    expect(measuredCheck(resolveConfig({ layers: 1 }), failed, 30)).toMatchObject({ by: 'fixed', refused: false });
  });

  it('a refusal suggests only flags the same estimate puts under the limit (rates from 1 MFLOP/s to 1 TFLOP/s)', () => {
    const gpt3 = resolveConfig({}, { ...resolveConfig({ heads: 96, dModel: 12288, dHead: 128 }), layers: 96, seq: 2048, kvSeq: 2048 });
    let offered = 0;
    let none = 0;
    for (let rate = 1e6; rate <= 1e12; rate *= 3) {
      const rates = probeAt(rate, rate / 40);
      const message = refusal(measuredCheck(gpt3, rates, null), rates);
      for (const s of SUGGESTED_FLAGS) {
        const fits = (estimateSeconds(rates, suggestionConfig(s.flags)) ?? Infinity) <= SOFTWARE_REFUSE_S;
        expect(message.includes(`${s.flags} (`), `${s.flags} at ${rate} FLOP/s`).toBe(fits);
        if (fits) offered++;
      }
      if (message.includes('no smaller configuration suggested')) none++;
    }
    expect(offered).toBeGreaterThan(10);
    expect(none).toBeGreaterThan(0);
    expect(suggestionConfig('--preset gpt3 --seq 16 --layers 2')).toMatchObject({ dModel: 12288, heads: 96, layers: 2, seq: 16 });
  });
});

describe('on this adapter, from its own measured rates', () => {
  const engine = useEngine();

  async function softwareChecks(smallCheck: Awaited<ReturnType<typeof checkSoftwareRun>>): Promise<void> {
    expect(smallCheck).toMatchObject({ checked: true, by: 'bound', refused: false, probeMs: null });
    expect(knownRates(engine())).toBeNull(); // the probe never started

    const rates = await measuredRates(engine()); // the probe checkSoftwareRun runs, shared per engine
    const sample = rates.samples[0];
    expect(sample, rates.error ?? '').toBeDefined();
    const { over, under } = justOver(WIDE, (c) => estimateSeconds(rates, c)!);
    let thrown: unknown = null;
    try {
      await checkSoftwareRun(engine(), over, false);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SlowRunRefusal);
    const check = (thrown as SlowRunRefusal).check;
    expect(check).toMatchObject({ by: 'probe', refused: true, flopsPerS: sample!.flopsPerS, seconds: estimateSeconds(rates, over) });
    expect((thrown as Error).message).toContain(`at ${formatRate(sample!.flopsPerS)} (measured here: probe d_model 512, 4 heads × 128, 16 tokens)`);
    expect(await checkSoftwareRun(engine(), under, false)).toMatchObject({ by: 'probe', refused: false, seconds: estimateSeconds(rates, under) });
    expect(await checkSoftwareRun(engine(), over, true)).toEqual({ checked: false, why: '--force' });
  }

  it('a run the floor clears starts without a probe; just over the limit at the measured rate is refused; one layer fewer runs', async () => {
    const small = resolveConfig({ layers: 2, heads: 4, dModel: 256, dHead: 64, seq: 33 });
    const smallCheck = await checkSoftwareRun(engine(), small, false);
    if (engine().adapter.isSoftware) await softwareChecks(smallCheck);
    else {
      // A hardware adapter is never priced nor refused.
      expect(smallCheck).toBeNull();
      expect(await checkSoftwareRun(engine(), resolveConfig({ heads: 96, dModel: 12288, dHead: 128, layers: 96, seq: 2048 }), false)).toBeNull();
    }
  });
});
