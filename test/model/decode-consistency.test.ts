// Decode step t equals the last row of a prefill of the same t + 1 tokens: layer by layer, each
// step's output row of every layer against the float64 layer over the rows that layer saw (the
// prompt's, from the prefill, and each decoded token's), within the derived bound the exact prefill
// check uses (src/verify/decode.ts checkDecodeRow, src/verify/layer-bound.ts). Seeded stacks (the
// step's input is row seq + t of the seeded input sequence, so the GPU prefill of seq + t + 1 seeded
// rows reads the same rows: its last row is compared too), and a model (random tables, tokens fed
// greedily): every step's embedding and logits against float64, and the last step's logits against
// a GPU prefill of all the tokens fed. Planted: an off-by-one length fails the consistency check at
// its step and layer.
import { describe, expect, it } from 'vitest';
import { runJudged } from '../helpers/stack-judge.js';
import { freshSeed, rng, useEngine } from '../helpers/gpu.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import { generate } from '../../src/model/generate.js';
import { seededInputs } from '../../src/model/seeded.js';
import { Session, type DecodePlant } from '../../src/model/session.js';
import type { ModelTensors } from '../../src/model/weights.js';
import { referenceWeights } from '../../src/verify/exact.js';
import { checkDecodeRow } from '../../src/verify/decode.js';

const engine = useEngine();

const FULL: Partial<AttentionConfig> = { layers: 2, heads: 3, dModel: 38, dHead: 10, seq: 4, maxSeq: 12, norm: 'layernorm', block: 'full', ffn: 45 };

/** A seeded session's prefill states and steps, each step's rows of every layer checked against a float64 prefill. */
async function consistency(partial: Partial<AttentionConfig>, seed: number, steps: number, plant?: DecodePlant) {
  const cfg = resolveConfig(partial);
  const states: Float32Array[] = [seededInputs(seed, cfg).x];
  const r = await generate(engine(), cfg, {
    seed, steps, keepLayerRows: true, plant, verify: 'none',
    onLayer: async (_p, probe) => void states.push(await probe.readOutput()),
  });
  const D = cfg.dModel;
  const checks = [];
  for (let l = 0; l < cfg.layers; l++) {
    const w = await referenceWeights(cfg, { kind: 'seeded', seed }, l);
    for (const s of r.decode.steps) {
      // Rows layer l saw: the prompt's (the prefill's input to layer l), then each decoded token's.
      const input = new Float32Array((cfg.seq + s.step + 1) * D);
      input.set(states[l]!, 0);
      for (const earlier of r.decode.steps.slice(0, s.step + 1)) input.set(earlier.layerRows![l]!, (cfg.seq + earlier.step) * D);
      checks.push(checkDecodeRow(cfg, s.step, l, w, input, s.layerRows![l + 1]!));
    }
  }
  return { cfg, r, checks };
}

describe('a decode step equals the last row of a prefill of the same tokens', () => {
  it.each([
    ['block full', FULL],
    ['block attention, bare', { ...FULL, block: 'attention' as const, norm: 'none' as const }],
  ])('%s: every step and layer within the derived bound, and beside a GPU prefill', async (_name, partial) => {
    const seed = freshSeed();
    const steps = 5;
    const { cfg, r, checks } = await consistency(partial, seed, steps);
    expect(checks.length).toBe(steps * cfg.layers);
    for (const c of checks) expect(c.passed, `seed ${seed}: ${c.detail}`).toBe(true);
    // The GPU prefill of seq + steps seeded rows, every layer judged the same way (test/helpers/stack-judge.ts): the
    // step's rows and the prefill's are then both within the one judge's allowance of the same float64 layers.
    await runJudged(engine(), resolveConfig({ ...cfg, seq: cfg.seq + steps }), { seed });
  });

  it('planted off-by-one length at step 2, layer 1: the consistency check fails there', async () => {
    const seed = freshSeed();
    const { checks } = await consistency(FULL, seed, 4, { kind: 'off-by-one', step: 2, layer: 1 });
    const failed = checks.filter((c) => !c.passed);
    expect(failed.length, `seed ${seed}`).toBeGreaterThan(0);
    expect(failed.map((c) => c.detail).join('\n')).toContain('decode step 2, layer 1: FAILED');
    for (const c of checks.filter((c) => c.detail.includes('decode step 0') || c.detail.includes('decode step 1'))) expect(c.passed, c.detail).toBe(true);
  });
});

function randomModel(seed: number, dModel: number, vocab: number, positionRows: number): ModelTensors {
  const next = rng(seed);
  const table = (n: number, scale: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
  const tokenEmbedding = table(vocab * dModel, 0.5);
  return {
    vocab, tokenEmbedding, positionEmbedding: table(positionRows * dModel, 0.2), positionOffset: 2,
    finalGain: table(dModel, 0.1).map((g) => Math.fround(1 + g)), finalBias: table(dModel, 0.1), unembedding: tokenEmbedding,
  };
}

describe('model decode', () => {
  it('greedy tokens: each step verified (attention, embedding, logits), a prefill of every token fed judged the same way, layers and ends', async () => {
    const seed = freshSeed();
    const tensors = randomModel(seed, 38, 97, 16);
    const cfg = resolveConfig({ ...FULL, bias: true, heads: 2, dHead: 20 });
    const tokens = Uint32Array.from({ length: cfg.seq }, (_, i) => (seed + 13 * i) % 97);
    const steps = 4;
    const r = await generate(engine(), cfg, { seed, steps, model: { tensors, tokens }, verify: 'exact' });
    expect(r.generated!.length, `seed ${seed}`).toBe(steps + 1);
    expect(r.decode.steps.map((s) => s.token)).toEqual(r.generated!.slice(0, steps));
    expect(r.decode.verification.passed, `seed ${seed}: ${r.decode.verification.detail}`).toBe(true);
    expect(r.decode.steps.every((s) => s.endChecks.length === 2)).toBe(true);
    // Greedy: each generated id is its logits' largest.
    for (const s of r.decode.steps) expect(r.generated![s.step + 1]).toBe(s.logits!.indexOf(Math.max(...s.logits!)));
    const fed = Uint32Array.from([...tokens, ...r.generated!.slice(0, steps)]);
    // A prefill of every token fed, judged by the one judge layer by layer and at both ends (its logits within the
    // derived allowance of float64 from its own output), as each step's were above.
    await runJudged(engine(), resolveConfig({ ...cfg, seq: fed.length }), { seed, model: { tensors, tokens: fed } });
  });

  it('sampling with a temperature is reproducible from its seed, and differs across seeds', async () => {
    const seed = freshSeed();
    const tensors = randomModel(seed, 38, 97, 16);
    const tokens = Uint32Array.of(1, 2, 3);
    const run = (s: number) => generate(engine(), { ...FULL, seq: 3 }, { steps: 5, model: { tensors, tokens }, sampling: { temperature: 5, seed: s } });
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(a.generated, `seed ${seed}`).toEqual(b.generated);
    expect(a.generated, `seed ${seed}: two sampling seeds gave the same 6 tokens at temperature 5`).not.toEqual(c.generated);
  });

  it('refuses steps past the model\'s positions', async () => {
    const tensors = randomModel(1, 38, 97, 8); // 8 rows from offset 2: 6 positions
    await expect(generate(engine(), { ...FULL, seq: 3 }, { steps: 4, model: { tensors, tokens: Uint32Array.of(1, 2, 3) } }))
      .rejects.toThrow(/--decode 4 after 3 tokens needs 7 positions, but the model has 6: at most --decode 3/);
  });
});

describe('Session by hand', () => {
  it('prefill, then steps one at a time: length grows, n = length', async () => {
    const session = await Session.open(engine(), FULL, { seed: 5 });
    try {
      await session.prefill();
      expect(session.length).toBe(4);
      const a = await session.step(new Float32Array(38).fill(0.5));
      const b = await session.step(new Float32Array(38).fill(-0.5));
      expect([a.n, b.n, session.length, session.room]).toEqual([5, 6, 6, 6]);
    } finally {
      session.destroy();
    }
  });
});
