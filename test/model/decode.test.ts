// Decode steps (src/model/session.ts, generate.ts): a seeded prefill, then steps of one token, each
// step's attention output in every layer and head checked against float64 over the keys and values
// of the projections (src/verify/decode.ts), odd sizes (heads 3, d_head 10, d_model 38, no tile
// multiple), block attention and full, f32 and f16. Planted errors (a stale cache row, a shifted
// one, an off-by-one length, a missed append) each fail, the message naming the step and the layer,
// while the steps before the plant pass. Bad input is refused before any GPU work.
import { describe, expect, it } from 'vitest';
import { freshSeed, skipWithout, useEngine } from '../helpers/gpu.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import { generate } from '../../src/model/generate.js';
import { planSession, Session, type DecodePlant } from '../../src/model/session.js';
import { layerWeightBytes } from '../../src/model/plan.js';
import { InputError } from '../../src/gpu/errors.js';
import { attentionLayer, seededLayerWeights } from '../../src/reference/attention.js';
import { seededInputs } from '../../src/model/seeded.js';
import { layerOutputError } from '../../src/verify/layer-bound.js';
import { BOUND_LAMBDA, judge } from '../../src/verify/tolerance.js';
import { runJudged } from '../helpers/stack-judge.js';
import { rowSumDisagreement } from '../helpers/pattern-judge.js';
import type { WeightSource } from '../../src/model/weights.js';

const engine = useEngine();

const ODD: Partial<AttentionConfig> = { layers: 2, heads: 3, dModel: 38, dHead: 10, seq: 5, maxSeq: 16, norm: 'layernorm', bias: false };

describe('decode steps against float64', () => {
  it.for([
    ['block attention, f32', { ...ODD, block: 'attention' as const }, 'f32'],
    ['block full with biases (heads 4: seeded biases need 16-byte offsets), f32', { ...ODD, heads: 4, bias: true, block: 'full' as const, ffn: 45 }, 'f32'],
    ['block full, f16', { ...ODD, block: 'full' as const, ffn: 45 }, 'f16'],
    ['bare block, one prompt token, f32', { ...ODD, norm: 'none' as const, bias: false, seq: 1 }, 'f32'],
  ] as const)('%s: every step of every layer passes exact verification', async ([, partial, precision], t) => {
    if (precision === 'f16') skipWithout(t, engine().gpu, 'shader-f16');
    const seed = freshSeed();
    const steps = 6;
    const r = await generate(engine(), { ...partial, precision }, { seed, steps, verify: 'exact' });
    expect(r.decode.steps.length, `seed ${seed}`).toBe(steps);
    expect(r.decode.steps.map((s) => s.n), `seed ${seed}`).toEqual(Array.from({ length: steps }, (_, i) => partial.seq! + i + 1));
    const v = r.decode.verification;
    expect(v.checks, `seed ${seed}`).toBe(steps * partial.layers!);
    expect(v.passed, `seed ${seed}: ${v.detail}`).toBe(true);
    expect(v.worstRatio!, `seed ${seed}`).toBeGreaterThan(0); // something was compared
    for (const s of r.decode.steps) expect(s.output.every(Number.isFinite), `seed ${seed} step ${s.step}`).toBe(true);
    expect(r.decode.tokensPerSecond).toBeGreaterThan(0);
    expect(r.decode.bytesPerStep).toBeGreaterThan(0);
  });

  it('weights streamed each step (residentWeightBytes 0), seeded or given as tensors: the same steps bit for bit as resident ones', async () => {
    const seed = freshSeed();
    const cfg = resolveConfig({ ...ODD, block: 'full', ffn: 45 });
    const tensors: WeightSource = { kind: 'tensors', layer: (l) => seededLayerWeights(seed, l, cfg) };
    const runs = [
      await generate(engine(), cfg, { seed, steps: 3 }),
      await generate(engine(), cfg, { seed, steps: 3, residentWeightBytes: 0, verify: 'exact' }),
      await generate(engine(), cfg, { seed, steps: 3, weights: tensors }),
      await generate(engine(), cfg, { seed, steps: 3, weights: tensors, residentWeightBytes: 0 }),
    ];
    expect(runs.map((r) => r.decode.residentWeights)).toEqual([true, false, true, false]);
    expect(runs[1]!.decode.verification.passed, `seed ${seed}: ${runs[1]!.decode.verification.detail}`).toBe(true);
    for (const r of runs.slice(1)) {
      for (let s = 0; s < 3; s++) expect(Array.from(r.decode.steps[s]!.output), `seed ${seed} step ${s}`).toEqual(Array.from(runs[0]!.decode.steps[s]!.output));
    }
  });

  it('cross-attention: the context\'s K and V cached once, every step attends all of them; a step equals the last row of a longer prefill', async () => {
    const seed = freshSeed();
    const cfg = resolveConfig({ ...ODD, cross: true, kvSeq: 7, norm: 'none' });
    const steps = 3;
    const r = await generate(engine(), cfg, { seed, steps, verify: 'exact' });
    expect(r.decode.steps.map((s) => s.n)).toEqual([7, 7, 7]);
    expect(r.decode.verification.passed, `seed ${seed}: ${r.decode.verification.detail}`).toBe(true);
    // One layer, so the last step and a prefill of the same context and seq + steps query rows (the seeded input
    // sequence continues) read the same input rows: the step's row and the prefill's last row both within the one
    // judge's allowance (λ·e, src/verify/layer-bound.ts) of the float64 layer over those rows.
    const one = resolveConfig({ ...cfg, layers: 1 });
    const step = (await generate(engine(), one, { seed, steps })).decode.steps[steps - 1]!.output;
    const long = resolveConfig({ ...one, seq: cfg.seq + steps });
    const prefill = await runJudged(engine(), long, { seed });
    const { x, context } = seededInputs(seed, long);
    const w = seededLayerWeights(seed, 0, long);
    const ref = attentionLayer(x, context, w, long);
    const tol = layerOutputError(long, x, context, w, ref).map((e) => BOUND_LAMBDA * e);
    const last = (a: ArrayLike<number>) => Array.from({ length: cfg.dModel }, (_, d) => a[(cfg.seq + steps - 1) * cfg.dModel + d]!);
    for (const [name, row] of [['the last step', step], ['the prefill\'s last row', last(prefill.output)]] as const) {
      const j = judge(row, last(ref.y), last(tol), (d) => `dim ${d}`);
      expect(j.passed, `seed ${seed}, ${name}: ${j.detail}`).toBe(true);
    }
  });

  it('sampled mode checks the layers asked for and a few heads, every step', async () => {
    const seed = freshSeed();
    const r = await generate(engine(), { ...ODD, layers: 3, heads: 6 }, { seed, steps: 3, verify: 'sampled', verifyLayers: new Set([0, 2]), verifySeed: seed });
    expect(r.decode.verification.checks, `seed ${seed}`).toBe(3 * 2);
    expect(r.decode.steps.flatMap((s) => s.checks.map((c) => c.layer))).toEqual([0, 2, 0, 2, 0, 2]);
    expect(r.decode.verification.passed, `seed ${seed}: ${r.decode.verification.detail}`).toBe(true);
  });

  it('pattern rows: one per layer and head, n values each, summing to 1', async () => {
    const seed = freshSeed();
    const session = await Session.open(engine(), ODD, { seed, patternRows: true });
    try {
      await session.prefill();
      const step = await session.step(new Float32Array(38).fill(0.25));
      expect(step.patternRows!.length).toBe(2);
      for (const layer of step.patternRows!) {
        expect(layer.length).toBe(3);
        for (const row of layer) {
          expect(row.length).toBe(6);
          expect(rowSumDisagreement(row), `seed ${seed}`).toBe('');
        }
      }
    } finally {
      session.destroy();
    }
  });
});

describe('planted decode errors fail, naming the step and the layer', () => {
  it.each(['stale-row', 'shifted-row', 'off-by-one', 'missed-append'] as const)('%s', async (kind) => {
    const seed = freshSeed();
    const plant: DecodePlant = { kind, step: 2, layer: 1 };
    const r = await generate(engine(), ODD, { seed, steps: 4, verify: 'exact', plant });
    const v = r.decode.verification;
    expect(v.passed, `seed ${seed}`).toBe(false);
    expect(v.failed[0], `seed ${seed}: ${v.detail}`).toEqual({ step: 2, layer: 1 });
    expect(v.detail).toContain('decode step 2, layer 1');
    // Everything before the plant passed: the check fails where the error is, not before.
    for (const s of r.decode.steps.slice(0, 2)) expect(s.checks.every((c) => c.passed), `seed ${seed} step ${s.step}`).toBe(true);
    expect(r.decode.steps[2]!.checks[0]!.passed, `seed ${seed}: layer 0 of step 2 is untouched`).toBe(true);
  });
});

describe('decode refusals before any GPU work', () => {
  it.each([
    ['zero steps', 0, /--decode must be a positive integer, got 0/],
    ['a fraction', 1.5, /--decode must be a positive integer, got 1.5/],
    ['past the context', 12, /--decode 12 after 5 prompt tokens needs 17 positions, over the context of 16 \(--max-seq\): at most --decode 11/],
  ])('%s', async (_name, steps, message) => {
    const before = engine().cache.size;
    await expect(generate(engine(), ODD, { steps })).rejects.toThrow(message);
    await expect(generate(engine(), ODD, { steps })).rejects.toBeInstanceOf(InputError);
    expect(engine().cache.size).toBe(before);
  });

  it('the plan: resident weights where they fit the memory given, else streamed, else refused in numbers', () => {
    const cfg = resolveConfig({ ...ODD, block: 'full', ffn: 45 });
    const streamed = planSession(engine(), cfg, { residentWeightBytes: 0 });
    const resident = planSession(engine(), cfg, {});
    expect([streamed.resident, resident.resident]).toEqual([false, true]);
    expect(resident.plan.peakBytes - streamed.plan.peakBytes).toBe((cfg.layers - 1) * layerWeightBytes(cfg));
    // Room for the streamed plan only: resident falls back to streamed.
    expect(planSession(engine(), cfg, { plan: { memoryBytes: streamed.plan.peakBytes } }).resident).toBe(false);
    expect(() => planSession(engine(), cfg, { plan: { memoryBytes: streamed.plan.peakBytes - 1 } })).toThrow(/the plan needs .* over the .* allowed: .*KV cache: K and V \[3, 16, 10\] × 2 layers/);
  });

  it('f16 with an odd d_head: the cache rows cannot be copied', async (t) => {
    skipWithout(t, engine().gpu, 'shader-f16');
    await expect(generate(engine(), { ...ODD, dHead: 9, precision: 'f16' }, { steps: 1 })).rejects.toThrow(/even --d-head/);
  });

  it('a step before the prefill, and a full cache', async () => {
    const cfg = resolveConfig({ ...ODD, seq: 15 });
    const session = await Session.open(engine(), cfg, { seed: 3 });
    try {
      await expect(session.step(new Float32Array(38))).rejects.toThrow(/need a prefill/);
      await session.prefill();
      await session.step(new Float32Array(38));
      await expect(session.step(new Float32Array(38))).rejects.toThrow(/the KV cache is full: 16 rows/);
    } finally {
      session.destroy();
    }
  });
});
