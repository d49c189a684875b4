import { describe, expect, it } from 'vitest';
import { useEngine } from '../helpers/gpu.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import type { LayerProbe } from '../../src/model/engine.js';
import { seededArray, seededInputs, seededValue, streamKey, weightScale, weightStream } from '../../src/model/seeded.js';
import type { WeightSource } from '../../src/model/weights.js';
import { seededLayerWeights } from '../../src/reference/attention.js';
import { freivalds, signVectors, transposedProducts } from '../../src/verify/freivalds.js';
import { seededRow } from '../../src/random.js';
import { samplePairs, summarizeSampled, verifyLayerSampled, type LayerVerification, type SampledOptions } from '../../src/verify/sampled.js';

/** Small deterministic PRNG for the CPU-only tests. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}
const randomF32 = (n: number, next: () => number) => Float32Array.from({ length: n }, next);

/** C = fl32(res + (fl32 Σ_k a·w) + b), summed in fp32 in order, as a naive kernel would. */
function fp32Product(a: Float32Array, w: Float32Array, M: number, N: number, K: number, bias?: Float32Array, res?: Float32Array) {
  const c = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = Math.fround(s + Math.fround(a[i * K + k]! * w[j * K + k]!));
      if (bias) s = Math.fround(s + bias[j]!);
      if (res) s = Math.fround(s + res[i * N + j]!);
      c[i * N + j] = s;
    }
  }
  return c;
}

describe('seeded regeneration (CPU)', () => {
  it('seededRow is bit-identical to seededValue', () => {
    for (const [key, scale, offset, count] of [[streamKey(1, 16), weightScale(12288), 0, 1001], [0xdeadbeef, 0.3, 2 ** 31 - 7, 64], [7, 1 / 3, 4e9, 33]] as const) {
      const out = new Float64Array(count);
      const sq = seededRow(key, scale, offset, out, count);
      let expected = 0;
      for (let c = 0; c < count; c++) {
        const v = seededValue(key, offset + c, scale);
        expect(out[c], `key ${key} index ${offset + c}`).toBe(v);
        expected += v * v;
      }
      expect(sq).toBeCloseTo(expected, 12);
    }
  });

  it('streaming Wᵀ·r equals the materialized product, seeded and tensor', () => {
    const N = 37, K = 29;
    const key = streamKey(5, weightStream(2, 'v'));
    const w = seededArray(key, N * K, weightScale(K));
    const r = signVectors(123, N, 7); // rounded up to 8: two groups
    expect(r.width).toBe(8);
    const expectU = new Float64Array(K * r.width);
    let frob2 = 0;
    for (let j = 0; j < N; j++) {
      for (let k = 0; k < K; k++) {
        frob2 += w[j * K + k]! ** 2;
        for (let v = 0; v < r.width; v++) expectU[k * r.width + v]! += r.signs[j * r.width + v]! * w[j * K + k]!;
      }
    }
    for (const got of [transposedProducts({ kind: 'seeded', key, scale: weightScale(K) }, N, K, r), transposedProducts({ kind: 'tensor', data: w }, N, K, r)]) {
      expect(got.frob2).toBeCloseTo(frob2, 12);
      for (let i = 0; i < expectU.length; i++) expect(Math.abs(got.u[i]! - expectU[i]!)).toBeLessThan(1e-13);
    }
  });
});

describe('Freivalds on random matrices (CPU)', () => {
  const M = 24, N = 40, K = 56;
  const next = rng(99);
  const a = randomF32(M * K, next);
  const w = randomF32(N * K, () => next() / Math.sqrt(K));
  const bias = randomF32(N, () => next() * 0.1);
  const res = randomF32(M * N, next);
  const base = { name: 'test', a, M, N, K, w: { kind: 'tensor' as const, data: w }, key: 4242, vectors: 4 };

  it('passes the honest fp32 product, with bias and residual', () => {
    const plain = freivalds({ ...base, c: fp32Product(a, w, M, N, K) });
    expect(plain.passed, plain.detail).toBe(true);
    expect(plain.missProbability).toBe(1 / 16);
    const full = freivalds({ ...base, c: fp32Product(a, w, M, N, K, bias, res), bias, residual: res });
    expect(full.passed, full.detail).toBe(true);
    // Without the residual the same result is inconsistent.
    expect(freivalds({ ...base, c: fp32Product(a, w, M, N, K, bias, res), bias }).passed).toBe(false);
  });

  it('catches one planted element: 1e-2, and anything just above detectThreshold', () => {
    const honest = fp32Product(a, w, M, N, K, bias, res);
    const threshold = freivalds({ ...base, c: honest, bias, residual: res }).detectThreshold;
    for (const delta of [1e-2, -1e-2, threshold * 1.01]) {
      for (const at of [0, 5 * N + 17, M * N - 1]) {
        const c = honest.slice();
        c[at]! += delta;
        const check = freivalds({ ...base, c, bias, residual: res });
        expect(check.passed, `delta ${delta} at ${at}: ${check.detail}`).toBe(false);
      }
    }
    const nan = honest.slice();
    nan[3] = NaN;
    expect(freivalds({ ...base, c: nan, bias, residual: res }).worstRatio).toBe(Infinity);
  });

  it('errors that can cancel slip past at most 2^-k of the time', () => {
    const honest = fp32Product(a, w, M, N, K);
    const c = honest.slice();
    c[3 * N + 1]! += 0.05; // r₁ = r₂ cancels them: probability 1/2 per vector
    c[3 * N + 2]! -= 0.05;
    let missed = 0;
    for (let key = 0; key < 256; key++) if (freivalds({ ...base, c, key }).passed) missed++;
    expect(missed).toBeGreaterThan(0); // the bound is real, not a bug of the test
    expect(missed).toBeLessThan(40); // expectation 16 of 256
  });
});

const engine = useEngine();

/** Runs the engine with onLayer verifying every layer; returns the verifications. */
async function runVerified(partial: Partial<AttentionConfig>, seed: number, options: SampledOptions = {}, tensors = false) {
  const cfg = resolveConfig(partial);
  const { context } = seededInputs(seed, cfg);
  const weights: WeightSource = tensors ? { kind: 'tensors', layer: (l) => seededLayerWeights(seed, l, cfg) } : { kind: 'seeded', seed };
  const layers: LayerVerification[] = [];
  await engine().run(cfg, {
    seed,
    weights,
    keepLayerInput: true,
    onLayer: async (_p, probe) => void layers.push(await verifyLayerSampled(cfg, probe.layer, probe, weights, context, { seed: 77, ...options })),
  });
  return { cfg, layers };
}

describe('sampled verification of engine runs', () => {
  const shapes: [string, Partial<AttentionConfig>][] = [
    ['self causal', { layers: 2, heads: 4, dModel: 64, dHead: 16, seq: 33 }],
    ['unmasked', { layers: 2, heads: 2, dModel: 40, dHead: 12, seq: 17, mask: false }],
    ['cross', { layers: 2, heads: 3, dModel: 48, dHead: 8, seq: 5, cross: true, kvSeq: 11 }],
    ['biases', { layers: 2, heads: 2, dModel: 40, dHead: 12, seq: 9, bias: true }],
  ];
  for (const [name, shape] of shapes) {
    it(`${name} passes (seeded and tensor weights)`, async () => {
      for (const tensors of [false, true]) {
        const { layers } = await runVerified(shape, 11, {}, tensors);
        expect(layers.length).toBe(shape.layers);
        for (const l of layers) for (const ch of l.checks) expect(ch.passed, `layer ${l.layer} ${ch.name}: ${ch.detail}`).toBe(true);
        const summary = summarizeSampled(layers);
        expect(summary.passed, summary.detail).toBe(true);
        expect(summary.mode).toBe('sampled');
      }
    });
  }

  it('needs keepLayerInput', async () => {
    const cfg = resolveConfig({ layers: 1, heads: 2, dModel: 16, dHead: 8, seq: 4 });
    let error: unknown;
    await engine().run(cfg, {
      onLayer: async (_p, probe) => {
        error = await verifyLayerSampled(cfg, 0, probe, { kind: 'seeded', seed: 1 }, null).catch((e: unknown) => e);
      },
    });
    expect(String(error)).toMatch(/keepLayerInput/);
  });
});

type Read = 'readQ' | 'readWeighted' | 'readOutput';
/** The probe, with one element of one read-back changed. */
function planted(probe: LayerProbe, read: Read, index: number, delta: number): LayerProbe {
  return { ...probe, [read]: async () => { const a = (await probe[read]()).slice(); a[index]! += delta; return a; } };
}

describe('planted single-element errors in real read-backs', () => {
  const cfg = resolveConfig({ layers: 1, heads: 4, dModel: 128, dHead: 32, seq: 64, bias: true });
  const seed = 21, vseed = 5, opts: SampledOptions = { seed: vseed, samples: 16 };
  const weights: WeightSource = { kind: 'seeded', seed };
  const pairs = samplePairs(cfg, 16, vseed, 0);
  const sampled = (row: number, head: number) => pairs.some((p) => p.row === row && p.head === head);
  const unsampledRow = [...Array(cfg.seq).keys()].find((r) => !sampled(r, 1))!;
  const inner = cfg.heads * cfg.dHead;

  /** delta 'relative': 1e-3 of the RMS of q, a typical magnitude. */
  async function outcomes(plants: { read: Read; index: number; delta: number | 'relative' }[]) {
    const results: Record<string, boolean>[] = [];
    await engine().run(cfg, {
      seed, keepLayerInput: true,
      onLayer: async (_p, probe) => {
        const q = await probe.readQ();
        const rmsQ = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
        for (const p of plants) {
          const delta = p.delta === 'relative' ? 1e-3 * rmsQ : p.delta;
          const v = await verifyLayerSampled(cfg, 0, planted(probe, p.read, p.index, delta), weights, null, opts);
          results.push(Object.fromEntries(v.checks.map((c) => [c.name.split(' ')[0]!, c.passed])));
          if (p.delta === 'relative') {
            console.log(`relative plant ${delta.toExponential(2)} (|q| rms ${rmsQ.toFixed(3)}) vs Q threshold ${v.checks[0]!.detectThreshold.toExponential(2)}`);
          }
        }
      },
    });
    return results;
  }

  it('each error fails exactly the check that covers it', async () => {
    const qAt = unsampledRow * inner + 1 * cfg.dHead + 5; // head 1, a row the core check does not recompute
    const [control, q1, q2, o1, w1, w2] = await outcomes([
      { read: 'readOutput', index: 0, delta: 0 },
      { read: 'readQ', index: qAt, delta: 1e-2 },
      { read: 'readQ', index: qAt, delta: 'relative' },
      { read: 'readOutput', index: 7 * cfg.dModel + 3, delta: 1e-2 },
      { read: 'readWeighted', index: pairs[0]!.row * inner + pairs[0]!.head * cfg.dHead + 2, delta: 1e-2 },
      { read: 'readWeighted', index: unsampledRow * inner + 1 * cfg.dHead + 2, delta: 1e-2 },
    ]);
    expect(control).toEqual({ Q: true, K: true, V: true, attention: true, x_out: true });
    expect(q1).toEqual({ Q: false, K: true, V: true, attention: true, x_out: true });
    expect(q2).toEqual({ Q: false, K: true, V: true, attention: true, x_out: true }); // above the threshold at this width
    expect(o1).toEqual({ Q: true, K: true, V: true, attention: true, x_out: false });
    // A wrong weighted sum is caught by the core check where sampled, and always by the output
    // check: the GPU's x_out was computed from the true A, not the planted one.
    expect(w1).toEqual({ Q: true, K: true, V: true, attention: false, x_out: false });
    expect(w2).toEqual({ Q: true, K: true, V: true, attention: true, x_out: false });
  });
});
