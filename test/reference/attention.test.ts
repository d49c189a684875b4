import { describe, it, expect } from 'vitest';
import {
  attentionLayer,
  attentionPattern,
  attentionStack,
  matmul,
  matmulTransB,
  seededLayerWeights,
  softmaxRows,
} from '../../src/reference/attention.js';
import { seededInputs as seededInput } from '../../src/model/seeded.js';
import { resolveConfig } from '../../src/model/config.js';
import { seededArray, streamKey, weightScale, weightStream } from '../../src/model/seeded.js';

describe('matmul', () => {
  // [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
  const a = [1, 2, 3, 4, 5, 6];
  const b = [7, 8, 9, 10, 11, 12];
  const bT = [7, 9, 11, 8, 10, 12];

  it('matches a hand-computed 2×3·3×2 product', () => {
    expect(Array.from(matmul(a, b, 2, 2, 3))).toEqual([58, 64, 139, 154]);
  });

  it('matmulTransB takes B as [N, K] and adds the bias per column', () => {
    expect(Array.from(matmulTransB(a, bT, 2, 2, 3))).toEqual([58, 64, 139, 154]);
    expect(Array.from(matmulTransB(a, bT, 2, 2, 3, [1, -1]))).toEqual([59, 63, 140, 153]);
  });

  it('rejects inputs of the wrong length', () => {
    expect(() => matmul(a, b, 2, 2, 4)).toThrow(/expected 8 values/);
  });
});

describe('softmaxRows', () => {
  const rows = 6;
  const cols = 5;
  const scores = Float64Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) * 4);

  it('rows sum to 1', () => {
    const p = softmaxRows(scores, rows, cols, { causal: false });
    for (let r = 0; r < rows; r++) {
      const sum = p.subarray(r * cols, (r + 1) * cols).reduce((s, v) => s + v, 0);
      expect(sum).toBeCloseTo(1, 14);
    }
  });

  it('masked entries are exactly 0, per query block and with an offset', () => {
    const p = softmaxRows(scores, rows, cols, { causal: true, queryRowsPerBlock: 3, offset: 1 });
    for (let r = 0; r < rows; r++) {
      const i = r % 3;
      let sum = 0;
      for (let j = 0; j < cols; j++) {
        const v = p[r * cols + j]!;
        if (j > i + 1) expect(v).toBe(0);
        else expect(v).toBeGreaterThan(0);
        sum += v;
      }
      expect(sum).toBeCloseTo(1, 14);
    }
  });

  it('does not overflow on huge scores', () => {
    const p = softmaxRows(new Float64Array([1e300, 1e300, -1e300, 5000, 5001, 4999]), 2, 3, { causal: false });
    expect(p.every(Number.isFinite)).toBe(true);
    expect(Array.from(p.subarray(0, 3))).toEqual([0.5, 0.5, 0]);
    expect(p[4]!).toBeGreaterThan(p[3]!);
  });
});

describe('attention', () => {
  it('seq 1: the pattern is [1], so y = x + (x·Wvᵀ)·Woᵀ', () => {
    const cfg = resolveConfig({ seq: 1, dModel: 8, heads: 2, dHead: 3, layers: 1 });
    const w = seededLayerWeights(5, 0, cfg);
    const { x } = seededInput(5, cfg);
    const r = attentionLayer(x, null, w, cfg);
    for (let h = 0; h < cfg.heads; h++) expect(Array.from(attentionPattern(r.q, r.k, cfg, h))).toEqual([1]);
    const v = matmulTransB(x, w.v, 1, 6, 8);
    const expected = matmulTransB(v, w.o, 1, 8, 6).map((o, i) => o + x[i]!);
    expect(Array.from(r.attn)).toEqual(Array.from(v));
    for (let i = 0; i < 8; i++) expect(r.y[i]).toBeCloseTo(expected[i]!, 14);
  });

  it('causal: a later token does not change earlier outputs; without a mask it does', () => {
    for (const mask of [true, false]) {
      const cfg = resolveConfig({ seq: 7, dModel: 16, heads: 2, dHead: 4, layers: 2, mask });
      const { x } = seededInput(1, cfg);
      const w = (l: number) => seededLayerWeights(1, l, cfg);
      const y0 = attentionStack(x, null, w, cfg);
      const x2 = Float32Array.from(x);
      x2[6 * 16 + 3] = 0.9; // last token only
      const y1 = attentionStack(x2, null, w, cfg);
      const earlierSame = y0.subarray(0, 6 * 16).every((v, i) => v === y1[i]);
      expect(earlierSame).toBe(mask);
    }
  });

  it('the causal pattern is lower triangular with rows summing to 1', () => {
    const cfg = resolveConfig({ seq: 5, dModel: 12, heads: 3, dHead: 4, layers: 1 });
    const r = attentionLayer(seededInput(2, cfg).x, null, seededLayerWeights(2, 0, cfg), cfg);
    const p = attentionPattern(r.q, r.k, cfg, 1);
    for (let i = 0; i < 5; i++) {
      for (let j = i + 1; j < 5; j++) expect(p[i * 5 + j]).toBe(0);
      expect(p.subarray(i * 5, i * 5 + 5).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
    }
  });

  it('cross-attention reads keys from the context and is never masked', () => {
    const cfg = resolveConfig({ seq: 3, dModel: 8, heads: 2, dHead: 4, layers: 1, cross: true, kvSeq: 6 });
    expect(cfg.mask).toBe(false);
    const { x, context } = seededInput(3, cfg);
    expect(context!.length).toBe(6 * 8);
    const r = attentionLayer(x, context, seededLayerWeights(3, 0, cfg), cfg);
    expect(r.k.length).toBe(6 * 8);
    const p = attentionPattern(r.q, r.k, cfg, 0);
    expect(p.length).toBe(3 * 6);
    expect(p.every((v) => v > 0)).toBe(true);
    expect(() => attentionLayer(x, null, seededLayerWeights(3, 0, cfg), cfg)).toThrow(/needs a context/);
  });

  it('seeded weights follow the shared streams, with biases only when configured', () => {
    const cfg = resolveConfig({ dModel: 8, heads: 2, dHead: 3, layers: 2 });
    const w = seededLayerWeights(9, 1, cfg);
    expect(w.q.length).toBe(6 * 8);
    expect(w.o.length).toBe(8 * 6);
    expect(w.o).toEqual(seededArray(streamKey(9, weightStream(1, 'o')), 48, weightScale(6)));
    expect(w.qBias).toBeUndefined();
    const wb = seededLayerWeights(9, 1, { ...cfg, bias: true });
    expect([wb.qBias!.length, wb.kBias!.length, wb.vBias!.length, wb.oBias!.length]).toEqual([6, 6, 6, 8]);
    expect(Math.max(...wb.qBias!.map(Math.abs))).toBeLessThan(0.1 / Math.sqrt(8));
    // Biases shift every output row by (x-independent) amounts.
    const { x } = seededInput(9, cfg);
    expect(attentionLayer(x, null, wb, cfg).y).not.toEqual(attentionLayer(x, null, w, cfg).y);
  });
});
