// The sampled check of LN(x): the GPU's LayerNorm output recomputed in float64 within the derived
// tolerance (src/verify/layer-bound.ts (3)); a GPU result rounded to f32 passes, planted errors fail.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/model/config.js';
import { seededArray, seededLayerNorm, streamKey } from '../../src/model/seeded.js';
import { layerNorm } from '../../src/reference/layernorm.js';
import { freshSeed } from '../helpers/seeds.js';
import { checkLayerNorm } from '../../src/verify/sampled.js';

describe('checkLayerNorm', () => {
  const seed = freshSeed();
  const cfg = resolveConfig({ layers: 1, heads: 4, dModel: 256, dHead: 64, seq: 17, norm: 'layernorm' });
  // A deep residual stream: a common offset of 300 on every element, spread of order 1.
  const x = seededArray(streamKey(seed, 3), cfg.seq * cfg.dModel, 1).map((v) => Math.fround(300 + v));
  const { gain, bias } = seededLayerNorm(5, 0, cfg.dModel);
  const honest = Float32Array.from(layerNorm(x, cfg.seq, cfg.dModel, gain, bias));
  const typicalIndex = honest.findIndex((v) => Math.abs(v) >= 0.5 && Math.abs(v) <= 2);

  it('an fp32-rounded LN(x) passes with headroom', () => {
    const c = checkLayerNorm(cfg, x, honest, gain, bias);
    expect(c.passed, `seed ${seed}: ${c.detail}`).toBe(true);
    expect(c.worstRatio, `seed ${seed}`).toBeLessThan(0.2);
  });

  it.each([
    ['eps 1e-3 instead of 1e-5', Float32Array.from(layerNorm(x, cfg.seq, cfg.dModel, gain, bias, 1e-3))],
    ['the gain ignored', Float32Array.from(layerNorm(x, cfg.seq, cfg.dModel, new Float32Array(cfg.dModel).fill(1), bias))],
    ['the bias ignored', Float32Array.from(layerNorm(x, cfg.seq, cfg.dModel, gain, new Float32Array(cfg.dModel)))],
    // On a stream with |mean| ≈ 300 and σ ≈ 0.6, fp32 LayerNorm itself is good to about 3e-5·|gain|
    // (|mean|/σ ≈ 500 costs 9 bits), so the plant is 1e-2 of an element of typical size.
    ['one element of typical size off by 1e-2 relative', honest.map((v, i) => (i === typicalIndex ? v * 1.01 : v))],
    ['an unwritten (NaN) element', honest.map((v, i) => (i === 7 ? Number.NaN : v))],
  ])('fails: %s', (_name, xn) => {
    expect(checkLayerNorm(cfg, x, xn, gain, bias).passed, `seed ${seed}`).toBe(false);
  });
});
