// Block 'full' (x += Attn(LN1(x)); x += MLP(LN2(x))) on the GPU against float64, layer by layer
// (src/verify/exact.ts: every element from the GPU's own input to the layer, derived tolerance):
// seeded and given weights, gelu_new and ReLU, f32 and f16, an MLP width that is no multiple of any
// tile, weights bound in row chunks; and errors planted on the GPU itself (a wrong activation, a
// skipped bias, a transposed fc weight) each fail. Fresh seeds; a failure prints its seed.
import { describe, expect, it } from 'vitest';
import { freshSeed, useEngine } from '../helpers/gpu.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import { planStages, type RunOptions, type RunResult } from '../../src/model/engine.js';
import { seededInputs } from '../../src/model/seeded.js';
import type { LayerTensors, WeightSource } from '../../src/model/weights.js';
import { seededLayerWeights } from '../../src/reference/attention.js';
import { verifyExactLayers } from '../../src/verify/exact.js';
import { verifyLayerSampled, type LayerVerification } from '../../src/verify/sampled.js';
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
      // Timed per stage (a stage this small may read 0 ms on a software adapter's timestamps).
      expect(planStages(result.plan.attention, cfg.norm, cfg.block).slice(-3)).toEqual(['mlp-norm', 'mlp-up', 'mlp-down']);
      expect(result.timings.perLayerStagesMs[0]).toHaveProperty('mlp-up');
      expect(result.timings.stagesMs['mlp-norm'] + result.timings.stagesMs['mlp-up'] + result.timings.stagesMs['mlp-down']).toBeGreaterThanOrEqual(0);
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

  it('a hidden over one binding is computed a block of tokens at a time: exact and sampled pass, the sampled checks read every block', async () => {
    const seed = freshSeed();
    // 2 KiB bindings: the hidden [9, 80] f32 (2880 B) in blocks of 6 tokens, then 3.
    const partial = { ...ODD, ffn: 80 };
    const limits = { maxStorageBufferBindingSize: 2048 };
    const r = await runChecked(partial, seed, { limits, attention: 'materialized' });
    expect(r.result.plan.mlpRows).toBe(6);
    expect(r.v.passed, `seed ${seed}: ${r.v.detail}`).toBe(true);
    const cfg = resolveConfig(partial);
    for (const [weights, failing] of [[{ kind: 'seeded', seed } as WeightSource, null], [tensorsOf(seed, cfg, (t) => ({ ...t, fc2Bias: new Float32Array(cfg.dModel) })), 'x_out = x + h·fc2ᵀ + b2']] as const) {
      const layers: LayerVerification[] = [];
      await engine().run(cfg, {
        seed, weights, limits, keepLayerInput: true, attention: 'materialized',
        onLayer: async (p, probe) => void layers.push(await verifyLayerSampled(cfg, p.layer, probe, { kind: 'seeded', seed }, null, { seed: seed + 3 })),
      });
      const bad = layers.flatMap((l) => l.checks.filter((c) => !c.passed).map((c) => c.name));
      if (failing === null) expect(bad, `seed ${seed}`).toEqual([]);
      else expect(bad, `seed ${seed}`).toContain(failing);
      // Every block is checked (the hidden of each block kept: run-buffers.ts), not only the last one left in the buffer.
      expect(layers[0]!.checks.find((c) => c.name.startsWith('MLP up'))!.detail).toContain('for all 9 tokens');
      expect(layers[0]!.checks.find((c) => c.name.startsWith('MLP up'))!.detail).not.toContain('the last block');
    }
    // A GPU error in the first block (token 0) is seen: one element of its hidden, then one of its x_out, off.
    for (const [read, failing] of [['readHidden', 'MLP up'], ['readOutput', 'x_out = x + h·fc2ᵀ + b2']] as const) {
      const layers: LayerVerification[] = [];
      await engine().run(cfg, {
        seed, limits, keepLayerInput: true, attention: 'materialized',
        onLayer: async (p, probe) => {
          const planted = read === 'readHidden'
            ? { ...probe, readHidden: async () => { const h = await probe.readHidden(); if (h.firstRow === 0) h.data[3] = h.data[3]! + 0.01; return h; } } // token 0, where it was read
            : { ...probe, readOutput: async () => { const y = await probe.readOutput(); y[3] = y[3]! + 0.01; return y; } };
          layers.push(await verifyLayerSampled(cfg, p.layer, planted, { kind: 'seeded', seed }, null, { seed: seed + 3 }));
        },
      });
      const bad = layers.flatMap((l) => l.checks.filter((c) => !c.passed).map((c) => c.name));
      expect(bad.some((n) => n.startsWith(failing)), `seed ${seed}: ${read} planted at token 0 passed (${bad.join(', ')})`).toBe(true);
    }
  });

  it('f16 storage refuses an MLP weight beyond f16\'s range, naming it', async () => {
    const seed = freshSeed();
    const cfg = resolveConfig({ ...ODD, precision: 'f16' });
    const weights = tensorsOf(seed, cfg, (t) => ({ ...t, fc2: t.fc2!.map((v, i) => (i === 5 ? -1e5 : v)) }));
    await expect(engine().run(cfg, { seed, weights })).rejects.toThrow(/layer 0 fc2.weight holds -100000 at index 5, beyond f16's range/);
  });

  it('f16 storage: every layer passes within the f16 bound', async () => {
    const seed = freshSeed();
    for (const activation of ['gelu_new', 'relu'] as const) {
      const { v } = await runChecked({ ...ODD, activation, ffn: 76 }, seed, { precision: 'f16', attention: 'materialized' });
      expect(v.passed, `seed ${seed} ${activation}: ${v.detail}`).toBe(true);
    }
  });
});

describe('the LayerNorm epsilon (config lnEps) reaches LN1 and LN2 on the GPU', () => {
  it('eps 0.05 passes against a reference with 0.05 and fails against 1e-5', async () => {
    const seed = freshSeed();
    const same = await runChecked({ ...ODD, lnEps: 0.05 }, seed, { attention: 'materialized' });
    expect(same.v.passed, `seed ${seed}: ${same.v.detail}`).toBe(true);
    const other = await runChecked({ ...ODD, lnEps: 0.05 }, seed, { attention: 'materialized' }, undefined, { ...ODD, lnEps: 1e-5 });
    expect(other.v.passed, `seed ${seed}: ${other.v.detail}`).toBe(false);
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

describe('sampled verification covers the MLP', () => {
  /** Each layer checked right after it ran (as the CLI's --verify sampled), against `reference`. */
  async function sampled(partial: Partial<AttentionConfig>, seed: number, gpuWeights: WeightSource, reference: WeightSource, referenceConfig?: Partial<AttentionConfig>) {
    const cfg = resolveConfig(partial);
    const refCfg = referenceConfig ? resolveConfig({ ...cfg, ...referenceConfig }) : cfg;
    const layers: LayerVerification[] = [];
    await engine().run(cfg, {
      seed, weights: gpuWeights, keepLayerInput: true, attention: 'materialized',
      onLayer: async (p, probe) => void layers.push(await verifyLayerSampled(refCfg, p.layer, probe, reference, null, { seed: seed + 1, samples: 16 })),
    });
    return layers;
  }
  const seed = freshSeed();
  const cfg = resolveConfig(ODD);
  const honest = tensorsOf(seed, cfg);

  it('seeded and given weights, f32 and f16: every check of every layer passes', async () => {
    for (const precision of ['f32', 'f16'] as const) {
      for (const weights of [{ kind: 'seeded', seed } as const, honest]) {
        const layers = await sampled({ ...ODD, precision }, seed, weights, weights);
        const names = layers[0]!.checks.map((c) => c.name);
        expect(names).toEqual(expect.arrayContaining(['LN2(x)', 'MLP up h = gelu_new(LN2·fc1ᵀ + b1)', 'x_out = x + h·fc2ᵀ + b2', 'm = x + A·W_Oᵀ']));
        for (const l of layers) for (const c of l.checks) expect(c.passed, `seed ${seed} ${precision} layer ${l.layer} ${c.name}: ${c.detail}`).toBe(true);
      }
    }
  });

  it.each([
    ['relu for gelu_new', { activation: 'relu' }, honest, 'MLP up'],
    ['fc1 bias skipped', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc1Bias: new Float32Array(cfg.ffn) } : t)), 'MLP up'],
    ['fc2 bias skipped', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc2Bias: new Float32Array(cfg.dModel) } : t)), 'x_out = x + h·fc2ᵀ + b2'],
    ['fc1 read transposed', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc1: transpose(t.fc1!, cfg.dModel, cfg.ffn) } : t)), 'MLP up'],
    ['fc2 read transposed', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, fc2: transpose(t.fc2!, cfg.ffn, cfg.dModel) } : t)), 'x_out = x + h·fc2ᵀ + b2'],
    ['LN2 skipped', {}, tensorsOf(seed, cfg, (t, l) => (l === 1 ? { ...t, mlpLnGain: new Float32Array(cfg.dModel).fill(1), mlpLnBias: new Float32Array(cfg.dModel) } : t)), 'LN2(x)'],
  ] as const)('planted on the GPU: %s fails its check', async (name, gpuConfig, gpuWeights, failing) => {
    const layers = await sampled({ ...ODD, ...gpuConfig }, seed, gpuWeights, honest, ODD);
    const bad = layers.flatMap((l) => l.checks.filter((c) => !c.passed).map((c) => `${l.layer} ${c.name}`));
    expect(bad.some((b) => b.startsWith(`1 ${failing}`)), `seed ${seed} ${name}: failed ${bad.join('; ')}`).toBe(true);
    expect(layers[name === 'relu for gelu_new' ? 1 : 0]!.passed === (name !== 'relu for gelu_new'), `seed ${seed} ${name}`).toBe(true);
  });
});
