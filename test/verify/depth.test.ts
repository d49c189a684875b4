// @module-tag slow (GPT-3's depth: 96-layer stacks): `npm test` runs it, `npm run test:fast` does not.
// Verification at GPT-3's depth: 96-layer stacks pass the layer-local exact check with correct
// kernels (both cores, bare and pre-LayerNorm, self and cross), and errors planted at layer 50
// of 96 are caught and named: one output element off by 1e-2 relative, the score scale off by
// 1 %, one masked key let through, the residual added twice. The planted outputs are what a
// wrong kernel would have produced from the GPU's own input to layer 50 (the float64 layer with
// the fault); one fault runs on the GPU itself (W_Q of layer 50 scaled by 1.01 scales every
// score by 1.01) so that the whole path, engine to verdict, names the layer.
import { beforeAll, describe, expect, it } from 'vitest';
import { useEngine } from '../helpers/gpu.js';
import { oneElementOff } from '../helpers/plant.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import { seededInputs } from '../../src/model/seeded.js';
import type { LayerTensors } from '../../src/model/weights.js';
import { checkLayer, verifyExactLayers, type Verification } from '../../src/verify/exact.js';
import { attentionLayer, attentionRow, matmulTransB, seededLayerWeights } from '../../src/reference/attention.js';

const engine = useEngine();
const LAYERS = 96;
const PLANT = 50;
const SHAPE = { layers: LAYERS, heads: 4, dModel: 256, dHead: 64, seq: 33 };

interface Stack { cfg: AttentionConfig; states: Float32Array[]; verification: Verification }
const stacks = new Map<string, Stack>();

/** Runs the stack on the GPU, keeping the residual stream after every layer, and verifies it. */
async function runStack(partial: Partial<AttentionConfig>, attention: 'fused' | 'materialized', weights?: (l: number) => LayerTensors): Promise<Stack> {
  const cfg = resolveConfig({ ...SHAPE, ...partial });
  const inputs = seededInputs(7, cfg);
  const states: Float32Array[] = [inputs.x];
  await engine().run(cfg, {
    seed: 7, inputs, attention,
    weights: weights ? { kind: 'tensors', layer: weights } : undefined,
    onLayer: async (_p, probe) => { states.push(await probe.readOutput()); },
  });
  const verification = await verifyExactLayers(cfg, { kind: 'seeded', seed: 7 }, inputs, states);
  return { cfg, states, verification };
}

// Each value of each factor at least once (a covering design keeps CI time down).
const CASES: [string, Partial<AttentionConfig>, 'fused' | 'materialized'][] = [
  ['bare self, fused', { norm: 'none' }, 'fused'],
  ['layernorm self, materialized', { norm: 'layernorm' }, 'materialized'],
  ['bare cross, materialized', { norm: 'none', cross: true, kvSeq: 20 }, 'materialized'],
  ['layernorm cross, fused', { norm: 'layernorm', cross: true, kvSeq: 20 }, 'fused'],
];

describe(`${LAYERS}-layer stacks, exact layer-local verification`, () => {
  for (const [name, partial, attention] of CASES) {
    it(`${name}: every layer passes, with headroom, and the drift is reported per layer`, async () => {
      const s = await runStack(partial, attention);
      stacks.set(name, s);
      const v = s.verification;
      expect(v.passed, v.detail).toBe(true);
      expect(v.failedLayers).toEqual([]);
      // Correct kernels sit far inside the derived tolerance (measured ≈ 0.04–0.09): a tolerance
      // that only just passes would be tuned, not derived.
      expect(v.worstRatio!).toBeLessThan(0.5);
      expect(v.drift).toHaveLength(LAYERS);
      for (const d of v.drift!) expect(Number.isFinite(d)).toBe(true);
    });
  }
});

/** The faulty outputs of layer `l` a wrong kernel would give from the GPU's input x to it. */
function plantedOutputs(cfg: AttentionConfig, x: Float32Array, context: Float32Array | null, l: number): Record<string, Float32Array> {
  const w = seededLayerWeights(7, l, cfg);
  const ref = attentionLayer(x, context, w, cfg);
  const D = cfg.dModel, W = cfg.heads * cfg.dHead, r = Math.floor(cfg.seq / 2);
  const out: Record<string, Float32Array> = {
    'one element off by 1e-2': oneElementOff(ref.y, r, D, 1.01),
    'score scale off by 1 %': Float32Array.from(attentionLayer(x, context, w, cfg, { scale: 1.01 / Math.sqrt(cfg.dHead) }).y),
    'residual added twice': Float32Array.from(ref.y, (v, i) => v + x[i]!),
  };
  if (cfg.mask && !cfg.cross) {
    // Query row r sees key r + 1 in every head: one masked key let through.
    const attn = Float64Array.from(ref.attn.subarray(r * W, (r + 1) * W));
    for (let h = 0; h < cfg.heads; h++) {
      attn.set(attentionRow(ref.q, ref.k, ref.v, { kvSeq: cfg.seq, heads: cfg.heads, dHead: cfg.dHead, causal: true, causalOffset: 1 }, r, h), h * cfg.dHead);
    }
    const moved = matmulTransB(attn, w.o, 1, D, W);
    const honest = matmulTransB(ref.attn.subarray(r * W, (r + 1) * W), w.o, 1, D, W);
    const unmasked = Float32Array.from(ref.y);
    for (let j = 0; j < D; j++) unmasked[r * D + j] = ref.y[r * D + j]! + moved[j]! - honest[j]!;
    out['one masked key let through'] = unmasked;
  }
  return out;
}

describe(`errors planted at layer ${PLANT} of ${LAYERS}`, () => {
  for (const [name] of CASES) {
    it(`${name}: each planted error fails layer ${PLANT}, the honest layer passes`, () => {
      const s = stacks.get(name);
      if (!s) throw new Error(`the ${name} stack did not run (see the test above)`);
      const inputs = seededInputs(7, s.cfg);
      const x = s.states[PLANT]!;
      const w = seededLayerWeights(7, PLANT, s.cfg);
      expect(checkLayer(s.cfg, PLANT, w, inputs.context, x, s.states[PLANT + 1]!).passed).toBe(true);
      const planted = plantedOutputs(s.cfg, x, inputs.context, PLANT);
      expect(Object.keys(planted).length).toBe(s.cfg.mask && !s.cfg.cross ? 4 : 3);
      for (const [fault, y] of Object.entries(planted)) {
        const c = checkLayer(s.cfg, PLANT, w, inputs.context, x, y);
        expect(c.passed, `${fault}: ${c.detail}`).toBe(false);
        expect(c.layer).toBe(PLANT);
        // Caught with a margin, not by a hair (measured ≥ 40× the tolerance).
        expect(c.worstRatio, fault).toBeGreaterThan(5);
      }
    });
  }

  it('a fault on the GPU itself (W_Q of layer 50 × 1.01: every score 1 % large) fails layer 50 and only layer 50', async () => {
    const cfg = resolveConfig({ ...SHAPE, norm: 'layernorm' });
    const s = await runStack({ norm: 'layernorm' }, 'fused', (l) => {
      const w = seededLayerWeights(7, l, cfg);
      if (l === PLANT) w.q = w.q.map((v) => v * 1.01);
      return w;
    });
    expect(s.verification.passed).toBe(false);
    expect(s.verification.failedLayers).toEqual([PLANT]);
    expect(s.verification.detail).toContain(`layer ${PLANT}`);
  });
});

describe('planted errors at every depth', () => {
  let stack: Stack;
  beforeAll(() => {
    const s = stacks.get('bare self, fused');
    if (!s) throw new Error('the bare stack did not run');
    stack = s;
  });
  it('one element off by 1e-2 is caught in every layer of the bare 96-layer stack, where |y| grows most', () => {
    const inputs = seededInputs(7, stack.cfg);
    for (let l = 0; l < LAYERS; l += 5) {
      const y = plantedOutputs(stack.cfg, stack.states[l]!, inputs.context, l)['one element off by 1e-2']!;
      const c = checkLayer(stack.cfg, l, seededLayerWeights(7, l, stack.cfg), inputs.context, stack.states[l]!, y);
      expect(c.passed, `layer ${l}`).toBe(false);
    }
  });
});
