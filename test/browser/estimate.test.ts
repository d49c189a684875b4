// The page's estimate and its refusal (issue 21, item 9), in plain Node: times come from rates
// measured on the adapter, the nearest in width; a refusal never offers a configuration the same
// estimate would refuse; nothing is refused without a measurement.

import { describe, expect, test } from 'vitest';
import { estimateSeconds, layerFlops, resolveConfig, type AttentionConfig, type Engine, type Rates } from '../../src/index.js';
import { affordableSuggestion, checkAffordable, estimate, SLOW_LIMIT_S, suggestionConfig, SUGGESTIONS, type Suggestion } from '../../web/estimate.js';
import { GPT3_WIDTHS } from '../../web/params.js';

/** Just what estimate.ts reads of an engine: a software adapter in the full profile. */
const software = { adapter: { name: 'SwiftShader Device', isSoftware: true }, gpu: { adapter: { features: new Set(['core-features-and-limits']) }, limits: undefined } } as unknown as Engine;
const hardware = { adapter: { name: 'NVIDIA H100', isSoftware: false }, gpu: { adapter: { features: new Set(['core-features-and-limits']) }, limits: undefined } } as unknown as Engine;

const rates = (flopsPerS: number, weightsPerS: number | null = 6e7, dModel = 512): Rates => ({
  samples: [{ width: dModel * 512, dModel, flopsPerS, from: 'probe' }], weightsPerS, error: null,
});

const refusedWith = (cfg: AttentionConfig, r: Rates): { kind: string; action?: [string, () => void]; message: string } | null => {
  try {
    checkAffordable(software, cfg, r, false, () => undefined);
    return null;
  } catch (e) {
    return e as { kind: string; action?: [string, () => void]; message: string };
  }
};

// The estimate itself (src/model/rates.ts, shared with the CLI) has its unit tests in test/model/rates.test.ts.
describe('estimate from measured rates', () => {
  test('the text gives the library estimate and the measured rate it came from', () => {
    const r = rates(4.69e8, 6e7);
    expect(estimate(GPT3_WIDTHS, software, r).seconds).toBe(estimateSeconds(r, GPT3_WIDTHS));
    expect(estimate(GPT3_WIDTHS, software, r).text).toMatch(/time ≈103 s on this software adapter \(at the 469 MFLOP\/s measured here by a probe at d_model 512\)\.$/);
  });

  test('before the adapter, before the probe, and after a failed probe: no time is guessed and nothing is refused', () => {
    expect(estimate(GPT3_WIDTHS, null, null).text).toMatch(/time measured once the GPU adapter is known\.$/);
    expect(estimate(GPT3_WIDTHS, software, null).text).toMatch(/time measuring this adapter…\.$/);
    const failed: Rates = { samples: [], weightsPerS: null, error: 'device lost' };
    expect(estimate(GPT3_WIDTHS, software, failed).text).toMatch(/time not measured \(device lost\)\.$/);
    expect(refusedWith(GPT3_WIDTHS, failed)).toBeNull();
  });
});

describe('the refusal never offers what it would refuse', () => {
  test('for rates from 1 MFLOP/s to 1 TFLOP/s, the offered configuration passes the same check, and is smaller than the refused one', () => {
    const gpt3 = resolveConfig({}, { ...GPT3_WIDTHS, layers: 96, seq: 2048, kvSeq: 2048 });
    let offered = 0;
    for (let rate = 1e6; rate <= 1e12; rate *= 3) {
      for (const weightsPerS of [null, 1e6, 6e7]) {
        const r = rates(rate, weightsPerS);
        for (const cfg of [gpt3, GPT3_WIDTHS, ...SUGGESTIONS.map(suggestionConfig)]) {
          const refusal = refusedWith(cfg, r);
          if (!refusal) {
            expect(estimateSeconds(r, cfg)!).toBeLessThanOrEqual(SLOW_LIMIT_S);
            continue;
          }
          expect(refusal.kind).toBe('too-slow');
          expect(estimateSeconds(r, cfg)!).toBeGreaterThan(SLOW_LIMIT_S);
          if (!refusal.action) {
            expect(affordableSuggestion(r, cfg)).toBeNull();
            continue;
          }
          let chosen: Suggestion | null = null;
          checkAffordable(software, cfg, r, true, () => undefined); // force: never refused
          try {
            checkAffordable(software, cfg, r, false, (s) => (chosen = s));
          } catch (e) {
            (e as { action: [string, () => void] }).action[1]();
          }
          expect(chosen).not.toBeNull();
          const next = suggestionConfig(chosen!);
          expect(refusedWith(next, r), `${chosen!.label} at ${rate} FLOP/s`).toBeNull();
          expect(layerFlops(next).total * next.layers).toBeLessThan(layerFlops(cfg).total * cfg.layers);
          expect(refusal.message).toContain(`"${chosen!.label}" takes about`);
          offered++;
        }
      }
    }
    expect(offered).toBeGreaterThan(20);
  });

  test("issue 21's SwiftShader: at 469 MFLOP/s the GPT-3 preset is refused and a configuration that runs in time is offered", () => {
    const r = rates(4.69e8, 6e7, 12288);
    const refusal = refusedWith(resolveConfig({}, { ...GPT3_WIDTHS, layers: 96, seq: 2048, kvSeq: 2048 }), r)!;
    expect(refusal.action![0]).toMatch(/^Use GPT-3 widths/);
    expect(refusal.message).toMatch(/at the rate measured here/);
  });

  test('a hardware adapter is never refused', () => {
    expect(() => checkAffordable(hardware, resolveConfig({}, { ...GPT3_WIDTHS, layers: 96, seq: 2048, kvSeq: 2048 }), rates(1e6), false, () => undefined)).not.toThrow();
  });
});
