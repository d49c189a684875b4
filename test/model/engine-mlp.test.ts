// Block 'full' (x += Attn(LN1(x)); x += MLP(LN2(x))) on the GPU against float64, layer by layer
// (src/verify/exact.ts: every element from the GPU's own input to the layer, derived tolerance):
// seeded and given weights, gelu_new and ReLU, f32 and f16, an MLP width that is no multiple of any
// tile, weights bound in row chunks; and errors planted on the GPU itself (a wrong activation, a
// skipped bias, a transposed fc weight) each fail. Fresh seeds; a failure prints its seed.
import { describe, expect, it } from 'vitest';
import { freshSeed, useEngine } from '../helpers/gpu.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import type { RunOptions, RunResult } from '../../src/model/engine.js';
import { seededInputs } from '../../src/model/seeded.js';
import type { LayerTensors, WeightSource } from '../../src/model/weights.js';
import { seededLayerWeights } from '../../src/reference/attention.js';
import { verifyExactLayers } from '../../src/verify/exact.js';
import { layerFlops } from '../../src/model/flops.js';

const engine = useEngine();

/**
 * Runs the stack, then checks it layer by layer against `reference` (default: the weights it ran)
 * under `referenceConfig` (default: the config it ran).
 */
async function runChecked(partial: Partial<AttentionConfig>, seed: number, options: RunOptions = {}, reference?: WeightSource,
  referenceConfig?: Partial<AttentionConfig>) {
  const cfg = resolveConfig({ ...partial, precision: options.precision ?? partial.precision });
  const states: Float32Array[] = [];
  const inputs = seededInputs(seed, cfg);
  states.push(inputs.x);
  const result: RunResult = await engine().run(cfg, {
    seed, ...options, onLayer: async (_p, probe) => void states.push(await probe.readOutput()),
  });
  const weights = reference ?? options.weights ?? { kind: 'seeded', seed };
  const v = await verifyExactLayers(referenceConfig ? resolveConfig({ ...cfg, ...referenceConfig }) : cfg, weights, inputs, states);
  return { cfg, result, v };
}

const tensorsOf = (seed: number, cfg: AttentionConfig, change: (t: LayerTensors, layer: number) => LayerTensors = (t) => t): WeightSource =>
  ({ kind: 'tensors', layer: (l) => change(seededLayerWeights(seed, l, cfg), l) });

const transpose = (a: Float32Array, rows: number, cols: number): Float32Array => {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
};

// ffn 75: odd, no multiple of any tile or of 4 (scalar loads on fc2's rows); d_model 40, d_head 12.
const ODD: Partial<AttentionConfig> = { layers: 2, heads: 2, dModel: 40, dHead: 12, seq: 9, block: 'full', norm: 'layernorm', ffn: 75, bias: true, activation: 'gelu_new' };

describe('block full on the GPU, verified layer by layer', () => {
  it.each(['gelu_new', 'relu'] as const)('seeded, %s, odd sizes, causal and fused: every layer passes', async (activation) => {
    for (const attention of ['materialized', 'fused'] as const) {
      const seed = freshSeed();
      const { cfg, result, v } = await runChecked({ ...ODD, activation }, seed, { attention });
      expect(v.passed, `seed ${seed} ${attention}: ${v.detail}`).toBe(true);
      expect(v.worstRatio, `seed ${seed}`).toBeLessThan(0.5);
      expect(result.timings.stagesMs['mlp-up']).toBeGreaterThan(0);
      expect(result.timings.stagesMs['mlp-down']).toBeGreaterThan(0);
      expect(result.timings.stagesMs['mlp-norm']).toBeGreaterThan(0);
      expect(result.flops.perLayer).toBe(layerFlops(cfg).total);
      expect(layerFlops(cfg).mlp).toBe(2 * 2 * cfg.seq * cfg.dModel * cfg.ffn);
      expect(result.plan.buffers.map((b) => b.name)).toEqual(expect.arrayContaining(['fc1 [ffn, dModel]', 'fc2 [dModel, ffn]', 'MLP hidden act(LN2(x)·fc1ᵀ + b1) [seq, ffn]']));
    }
  });

  it('given tensors run as the seeded ones do (bit for bit), and a larger stack with fc1 and fc2 bound in row chunks passes', async () => {
    const seed = freshSeed();
    const cfg = resolveConfig(ODD);
    const seeded = await runChecked(ODD, seed);
    const given = await runChecked(ODD, seed, { weights: tensorsOf(seed, cfg) });
    expect(given.v.passed, `seed ${seed}: ${given.v.detail}`).toBe(true);
    expect(Array.from(given.result.output)).toEqual(Array.from(seeded.result.output));
    // 16 KiB bindings: fc1 [200, 64] (51 KiB) in 64-row chunks, fc2 [64, 200] in 20-row chunks.
    const big: Partial<AttentionConfig> = { layers: 2, heads: 4, dModel: 64, dHead: 16, seq: 13, block: 'full', norm: 'layernorm', ffn: 200 };
    const chunked = await runChecked(big, seed, { limits: { maxStorageBufferBindingSize: 16 * 1024 }, attention: 'materialized' });
    expect(chunked.result.plan.fc1ChunkRows).toBeLessThan(200);
    expect(chunked.result.plan.fc2ChunkRows).toBeLessThan(64);
    expect(chunked.v.passed, `seed ${seed}: ${chunked.v.detail}`).toBe(true);
  });

  it('f16 storage: every layer passes within the f16 bound', async () => {
    const seed = freshSeed();
    for (const activation of ['gelu_new', 'relu'] as const) {
      const { v } = await runChecked({ ...ODD, activation, ffn: 76 }, seed, { precision: 'f16', attention: 'materialized' });
      expect(v.passed, `seed ${seed} ${activation}: ${v.detail}`).toBe(true);
    }
  });
});

describe('errors planted on the GPU fail the layer they are in', () => {
  const seed = freshSeed();
  const cfg = resolveConfig(ODD);
  const honest = tensorsOf(seed, cfg);
  const faults: [string, Partial<AttentionConfig>, WeightSource][] = [
    ['relu for gelu_new', { activation: 'relu' }, honest],
    ['fc1 bias skipped', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc1Bias: new Float32Array(cfg.ffn) } : t))],
    ['fc2 bias skipped', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc2Bias: new Float32Array(cfg.dModel) } : t))],
    // A Conv1D [in, out] weight taken as [out, in]: the same element count, read transposed.
    ['fc1 read transposed', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc1: transpose(t.fc1!, cfg.dModel, cfg.ffn) } : t))],
    ['fc2 read transposed', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc2: transpose(t.fc2!, cfg.ffn, cfg.dModel) } : t))],
    ['LN2 skipped (gain 1, bias 0)', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, mlpLnGain: new Float32Array(cfg.dModel).fill(1), mlpLnBias: new Float32Array(cfg.dModel) } : t))],
  ];
  it.each(faults)('%s', async (name, gpuConfig, gpuWeights) => {
    // The reference checks the honest config and weights; the GPU ran the planted ones.
    const { v } = await runChecked({ ...ODD, ...gpuConfig }, seed, { weights: gpuWeights, attention: 'materialized' }, honest, ODD);
    expect(v.passed, `seed ${seed} ${name}: ${v.detail}`).toBe(false);
    // Planted in layer 1 only (the activation: in both).
    expect(v.failedLayers, `seed ${seed} ${name}`).toEqual(name === 'relu for gelu_new' ? [0, 1] : [1]);
    expect(v.worstRatio, `seed ${seed} ${name}`).toBeGreaterThan(10);
  });
});
