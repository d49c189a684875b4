import { describe, it, expect } from 'vitest';
import { FP32_TOLERANCE, compare } from '../../src/verify/compare.js';
import { attentionStack, seededLayerWeights, type LayerWeights } from '../../src/reference/attention.js';
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

describe('compare', () => {
  const cfg = SMALL; // 2 causal layers, dModel 256, 4 heads of 64, seq 33
  const ws = [0, 1].map((l) => seededLayerWeights(42, l, cfg));
  const { x } = seededInput(42, cfg);
  const ref = attentionStack(x, null, (l) => ws[l]!, cfg);

  it('an fp32 computation of the whole stack passes FP32_TOLERANCE', () => {
    let y = x;
    for (let l = 0; l < cfg.layers; l++) y = layerF32(y, ws[l]!, cfg);
    const c = compare(y, ref, FP32_TOLERANCE);
    expect(c.passed, `seed 42: ${JSON.stringify(c)}`).toBe(true);
    expect(c.maxAbsError).toBeGreaterThan(0); // it really was fp32
    expect(c.maxAbsError).toBeLessThan(FP32_TOLERANCE.atol / 30); // the margin the comment claims
  });

  it('a single element off by 1e-2 fails, at the largest output', () => {
    let at = 0;
    for (let i = 0; i < ref.length; i++) if (Math.abs(ref[i]!) > Math.abs(ref[at]!)) at = i;
    const bad = Float32Array.from(ref);
    bad[at]! += 1e-2;
    const c = compare(bad, ref, FP32_TOLERANCE);
    expect(c.passed).toBe(false);
    expect(c.worstIndex).toBe(at);
    expect(c.maxAbsError).toBeCloseTo(1e-2, 6);
  });

  it('a NaN (poisoned, never written) fails and is counted', () => {
    const bad = Float32Array.from(ref);
    bad[17] = NaN;
    bad[40] = Infinity;
    const c = compare(bad, ref, FP32_TOLERANCE);
    expect(c).toMatchObject({ passed: false, nonFinite: 2, worstIndex: 17, maxAbsError: Infinity, count: ref.length });
  });

  it('reports relative error against max(|ref|, atol)', () => {
    const c = compare([1.001, 0.0001, 2], [1, 0, 2], { atol: 1e-3, rtol: 0 });
    expect(c.maxRelError).toBeCloseTo(0.1, 12); // 1e-4 / max(0, 1e-3)
    expect(c.maxAbsError).toBeCloseTo(1e-3, 12);
    expect(c.passed).toBe(true);
    expect(c.worstIndex).toBe(0);
  });

  it('empty arrays pass; different lengths throw', () => {
    expect(compare([], [], FP32_TOLERANCE)).toMatchObject({ passed: true, count: 0, worstIndex: -1 });
    expect(() => compare([1], [1, 2], FP32_TOLERANCE)).toThrow(/1 values.*2/);
  });
});
