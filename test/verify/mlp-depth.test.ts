// The full block (attention + MLP) at depth: 48-layer stacks pass the layer-local exact check with
// headroom in f32 and f16, gelu_new and ReLU, and errors planted at layer 40 — what a wrong MLP
// kernel would have written from the GPU's own input to that layer (the float64 layer with the
// fault) — fail that layer: the other activation, fc1's or fc2's bias skipped, one output element
// off by 1e-2 relative. Seeds fresh per run, printed on failure.
import { describe, expect, it } from 'vitest';
import { freshSeed } from '../helpers/seeds.js';
import { useEngine } from '../helpers/gpu.js';
import { oneElementOff } from '../helpers/plant.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import { seededInputs } from '../../src/model/seeded.js';
import { checkLayer, referenceWeights, verifyExactLayers } from '../../src/verify/exact.js';
import { attentionLayer } from '../../src/reference/attention.js';

const engine = useEngine();
const LAYERS = 48;
const PLANT = 40;

describe(`${LAYERS}-layer full-block stacks`, () => {
  it.each([
    ['f32', 'gelu_new'], ['f32', 'relu'], ['f16', 'gelu_new'], ['f16', 'relu'],
  ] as const)('%s %s: every layer passes with headroom; errors planted at layer 40 fail it', async (precision, activation) => {
    const seed = freshSeed();
    const cfg = resolveConfig({ layers: LAYERS, heads: 2, dModel: 32, dHead: 16, seq: 17, block: 'full', norm: 'layernorm', ffn: 72, bias: true, activation, precision });
    const inputs = seededInputs(seed, cfg);
    const states: Float32Array[] = [inputs.x];
    await engine().run(cfg, { seed, inputs, attention: 'materialized', onLayer: async (_p, probe) => void states.push(await probe.readOutput()) });
    const weights = { kind: 'seeded', seed } as const;
    const v = await verifyExactLayers(cfg, weights, inputs, states);
    expect(v.passed, `seed ${seed}: ${v.detail}`).toBe(true);
    expect(v.worstRatio!, `seed ${seed}`).toBeLessThan(0.4);

    const x = states[PLANT]!;
    const w = await referenceWeights(cfg, weights, PLANT);
    const other = activation === 'relu' ? 'gelu_new' : 'relu';
    const planted: Record<string, Float32Array> = {
      [`${other} for ${activation}`]: Float32Array.from(attentionLayer(x, null, w, cfg, { activation: other }).y),
      'fc1 bias skipped': Float32Array.from(attentionLayer(x, null, w, cfg, { skipFc1Bias: true }).y),
      'fc2 bias skipped': Float32Array.from(attentionLayer(x, null, w, cfg, { skipFc2Bias: true }).y),
      // In f16 the hidden's own rounding (2⁻¹¹) allows more: the plant is 1e-2 of an element of typical size either way.
      'one element off by 1e-2': oneElementOff(states[PLANT + 1]!, 5, cfg.dModel, 1.01),
    };
    for (const [fault, y] of Object.entries(planted)) {
      const c = checkLayer(cfg, PLANT, w, null, x, y);
      expect(c.passed, `seed ${seed} ${precision} ${fault}: ${c.detail}`).toBe(false);
      expect(c.worstRatio, `seed ${seed} ${precision} ${fault}`).toBeGreaterThan(precision === 'f32' ? 5 : 1);
    }
  });
});
