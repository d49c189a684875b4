// A CPU emulation of an fp32 layer (every operation rounded by Math.fround, sums in sequence: the least accurate
// order a kernel would use) judged by verification's exact check (src/verify/exact.ts checkLayer, the one judge):
// honest f32 arithmetic passes, a planted error or a NaN fails.
import { describe, it, expect } from 'vitest';
import { checkLayer } from '../../src/verify/exact.js';
import { seededLayerWeights, type LayerWeights } from '../../src/reference/attention.js';
import { seededInputs as seededInput } from '../../src/model/seeded.js';
import { SMALL, type AttentionConfig } from '../../src/model/config.js';

const f = Math.fround;

/** fp32 emulation of one layer, every operation rounded, sums in sequence (the least accurate order). */
function layerF32(x: Float32Array, w: LayerWeights, cfg: AttentionConfig): Float32Array {
  const { seq, dModel, dHead } = cfg;
  const W = cfg.heads * dHead;
  const mm = (a: Float32Array, b: Float32Array, M: number, N: number, K: number) => {
    const c = new Float32Array(M * N);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s = f(s + f(a[m * K + k]! * b[n * K + k]!));
        c[m * N + n] = s;
      }
    return c;
  };
  const q = mm(x, w.q, seq, W, dModel);
  const k = mm(x, w.k, seq, W, dModel);
  const v = mm(x, w.v, seq, W, dModel);
  const attn = new Float32Array(seq * W);
  for (let h = 0; h < cfg.heads; h++)
    for (let i = 0; i < seq; i++) {
      const visible = cfg.mask ? i + 1 : seq;
      const p = new Float32Array(visible);
      let max = -Infinity;
      let sum = 0;
      for (let j = 0; j < visible; j++) {
        let s = 0;
        for (let d = 0; d < dHead; d++) s = f(s + f(q[i * W + h * dHead + d]! * k[j * W + h * dHead + d]!));
        p[j] = f(s * f(1 / Math.sqrt(dHead)));
        max = Math.max(max, p[j]!);
      }
      for (let j = 0; j < visible; j++) sum = f(sum + (p[j] = f(Math.exp(p[j]! - max))));
      for (let d = 0; d < dHead; d++) {
        let s = 0;
        for (let j = 0; j < visible; j++) s = f(s + f(f(p[j]! / sum) * v[j * W + h * dHead + d]!));
        attn[i * W + h * dHead + d] = s;
      }
    }
  const o = mm(attn, w.o, seq, dModel, W);
  return x.map((xi, i) => f(xi + o[i]!));
}

describe('an fp32 emulation judged by the exact check', () => {
  const cfg = SMALL; // 2 causal layers, dModel 256, 4 heads of 64, seq 33
  const ws = [0, 1].map((l) => seededLayerWeights(42, l, cfg));
  const { x } = seededInput(42, cfg);
  const states = [x];
  for (let l = 0; l < cfg.layers; l++) states.push(layerF32(states[l]!, ws[l]!, cfg));

  it('every layer of the fp32 emulation passes, from its own input', () => {
    for (let l = 0; l < cfg.layers; l++) {
      const c = checkLayer(cfg, l, ws[l]!, null, states[l]!, states[l + 1]!);
      expect(c.passed, `seed 42, layer ${l}: ${c.detail}`).toBe(true);
      expect(c.maxAbsError).toBeGreaterThan(0); // it really was fp32
    }
  });

  it('a single element off by 1e-2 relative fails', () => {
    const bad = Float32Array.from(states[2]!);
    bad[100] = bad[100]! * (1 + 1e-2);
    const c = checkLayer(cfg, 1, ws[1]!, null, states[1]!, bad);
    expect(c.passed).toBe(false);
    expect(c.detail).toMatch(/token 0, dim 100 /);
  });

  it('a NaN (poisoned, never written) fails and is counted', () => {
    const bad = Float32Array.from(states[1]!);
    bad[17] = NaN;
    bad[40] = Infinity;
    const c = checkLayer(cfg, 0, ws[0]!, null, states[0]!, bad);
    expect(c).toMatchObject({ passed: false, nonFinite: 2, maxAbsError: Infinity });
  });
});
