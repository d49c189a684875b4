// The float64 LayerNorm reference against closed forms.
import { describe, expect, it } from 'vitest';
import { LAYERNORM_EPS, layerNorm } from '../../src/reference/layernorm.js';

describe('layerNorm reference', () => {
  it('normalises [1, 2, 3, 4] to ±1/√5, ±3/√5 (eps 0)', () => {
    // mean 2.5, deviations ±0.5, ±1.5, variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25 = 5/4.
    const y = layerNorm([1, 2, 3, 4], 1, 4, [1, 1, 1, 1], [0, 0, 0, 0], 0);
    const r5 = Math.sqrt(5);
    [-3 / r5, -1 / r5, 1 / r5, 3 / r5].forEach((v, j) => expect(y[j]).toBeCloseTo(v, 14));
  });

  it('applies eps inside the square root, then gain and bias per column', () => {
    const eps = LAYERNORM_EPS;
    const y = layerNorm([1, 2, 3, 4], 1, 4, [2, -1, 0.5, 3], [10, 20, 30, 40], eps);
    const inv = 1 / Math.sqrt(1.25 + eps);
    const expected = [-1.5 * inv * 2 + 10, -0.5 * inv * -1 + 20, 0.5 * inv * 0.5 + 30, 1.5 * inv * 3 + 40];
    expected.forEach((v, j) => expect(y[j]).toBeCloseTo(v, 12));
    expect(eps).toBe(1e-5);
  });

  it('treats rows independently, and a constant row gives the bias', () => {
    // Row 1 is row 0 shifted by 100 and scaled by 3: the same normalised values.
    const y = layerNorm([1, 2, 3, 4, 103, 106, 109, 112, 7, 7, 7, 7], 3, 4, [1, 1, 1, 1], [0.5, 0.5, 0.5, 0.5], 1e-9);
    for (let j = 0; j < 4; j++) expect(y[4 + j]).toBeCloseTo(y[j]!, 8);
    expect(Array.from(y.subarray(8))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('gives mean 0 and variance var/(var + eps) before the affine map', () => {
    const x = Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7) * 0.01 + 300);
    const eps = 1e-5;
    const y = layerNorm(x, 1, 50, new Array(50).fill(1), new Array(50).fill(0), eps);
    const mean = x.reduce((a, b) => a + b) / 50;
    const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / 50;
    // |mean|/std ≈ 300/0.007 ≈ 4e4: float64's 1.1e-16 per rounding of the mean becomes ≈ 5e-12 here.
    expect(Math.abs(y.reduce((a, b) => a + b) / 50)).toBeLessThan(1e-10);
    expect(y.reduce((a, b) => a + b * b, 0) / 50).toBeCloseTo(v / (v + eps), 10);
  });

  it('rejects inputs of the wrong length', () => {
    expect(() => layerNorm([1, 2, 3], 1, 4, [1, 1, 1, 1], [0, 0, 0, 0])).toThrow(/x: expected 4/);
    expect(() => layerNorm([1, 2, 3, 4], 1, 4, [1, 1, 1], [0, 0, 0, 0])).toThrow(/gain/);
    expect(() => layerNorm([1, 2, 3, 4], 1, 4, [1, 1, 1, 1], [0, 0, 0])).toThrow(/bias/);
  });
});
