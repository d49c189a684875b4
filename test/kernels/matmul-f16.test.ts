// shaders/matmul.wgsl with f16 storage (types a, b, bias, c) against the float64 reference computed
// from the f16-rounded inputs: every tile config the project ships, vec4<f16> and scalar loads (and
// the choice between them for f16 bindings), odd sizes, strides, offsets,
// batches, bias, accumulation into f32 (the output projection) and into f16, both causal modes;
// poisoned outputs; planted errors each check must catch. A failure prints its seed.
import { describe, expect, it } from 'vitest';
import { freshSeed, skipWithout, useGpuContext, withoutF16 } from '../helpers/gpu.js';
import { F16_UNIT } from '../../src/io/half.js';
import { describeCase, runMatmulCase, type MatmulCase as Case } from './matmul-case.js';
import { scalar, vec4If } from './matmul-layout.js';
import {
  ADAPTER_DEFAULTS, DEFAULT_TILE, FALLBACK_TILES, defaultMatmulTile, fitTileToShape, matmulVariant, prepareMatmul,
  tileCaps, tileProblem, vec4Aligned, type MatmulCall, type MatmulTile, type MatmulTypes,
} from '../../src/kernels/matmul.js';
import { autotuneMatmul, clearTuneMemory } from '../../src/tune/matmul.js';
import { adapterKey, tuneKey, type TuneStore } from '../../src/tune/store.js';

const { ctx, cache } = useGpuContext();

/** Runs one matmul (matmul-case.ts): null when C is right, else what failed. */
const run = (c: Case, seed: number): Promise<string | null> => runMatmulCase(ctx(), cache(), c, seed);

async function check(c: Case, seed = freshSeed()): Promise<void> {
  const problem = await run(c, seed);
  expect(problem, describeCase(c, seed)).toBeNull();
}

const F16: MatmulTypes = { a: 'f16', b: 'f16', bias: 'f16', c: 'f16' };
/** The output projection: f16 weighted sums and weights, accumulated into the f32 residual. */
const INTO_F32: MatmulTypes = { a: 'f16', b: 'f16', bias: 'f16', c: 'f32' };

const SHIPPED: MatmulTile[] = [];
for (const t of [DEFAULT_TILE, ...ADAPTER_DEFAULTS.flatMap((d) => d.tiles), ...FALLBACK_TILES]) {
  if (!SHIPPED.some((s) => JSON.stringify(s) === JSON.stringify(t))) SHIPPED.push(t);
}

describe('matmul with f16 storage (no GPU)', () => {
  it('vec4<f16> needs the same element alignment and 8-byte whole bindings; the types are in the variant', () => {
    const buffer = { size: 4096 } as GPUBuffer;
    const base: MatmulCall = { label: 't', M: 5, N: 6, K: 7, a: { buffer }, b: { buffer }, c: { buffer }, transB: true, lda: 8, ldb: 12, types: F16 };
    expect(vec4Aligned(base)).toBe(true);
    expect(vec4Aligned({ ...base, lda: 6 })).toBe(false);
    expect(vec4Aligned({ ...base, offA: 2 })).toBe(false);
    expect(vec4Aligned({ ...base, b: { buffer, size: 1000 } })).toBe(true); // 125 vec4<f16> words
    expect(vec4Aligned({ ...base, b: { buffer, size: 1004 } })).toBe(false);
    expect(vec4Aligned({ ...base, b: { buffer, size: 1000 }, types: {} })).toBe(false); // 62.5 vec4f words
    const flags = (types: MatmulTypes, bias = false) => matmulVariant({ ...base, types, bias: bias ? { buffer } : undefined }).flags;
    expect(flags({})).toEqual(['rb8']);
    expect(flags(F16)).toEqual(['f16', 'a16', 'b16', 'c16', 'rb8']);
    expect(flags(F16, true)).toEqual(['f16', 'a16', 'b16', 'bias16', 'c16', 'rb8']);
    expect(flags(INTO_F32)).toEqual(['f16', 'a16', 'b16', 'rb8']);
  });
});

describe('matmul with f16 storage vs float64 (from the f16-rounded inputs)', () => {
  it('is refused by name on a device without shader-f16, before any GPU work', async () => {
    const b = { buffer: { size: 16 } as GPUBuffer };
    await expect(prepareMatmul(withoutF16(ctx()), cache(), { label: 'x', M: 1, N: 1, K: 1, a: b, b, c: b, transB: true, types: F16 })).rejects.toThrow(/shader-f16/);
  });

  it('odd sizes, A·Bᵀ and A·B, vec4 and scalar, C in f16 and accumulated into f32', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    for (const M of [1, 7, 33, 130]) {
      for (const N of [1, 13, 65]) {
        for (const K of [1, 33, 130]) {
          await check({ M, N, K, transB: true, tile: DEFAULT_TILE, types: F16, vec4: K % 4 === 0 });
          await check({ M, N, K, transB: false, tile: scalar(DEFAULT_TILE), types: F16, vec4: false });
          await check({ M, N, K, transB: true, lda: K + 3, ldb: K + 3, accumulate: true, bias: true, tile: DEFAULT_TILE, types: INTO_F32, vec4: (K + 3) % 4 === 0 });
        }
      }
    }
  });

  it('strides, offsets, batches, bias, alpha; mixed types', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    await check({ M: 33, N: 65, K: 16, transB: true, batch: 3, lda: 48, ldb: 48, batchA: 16, batchB: 16, ldc: 65, batchC: 33 * 65, offA: 4, offB: 8, offC: 3, alpha: 0.25, tile: DEFAULT_TILE, types: F16, vec4: true });
    await check({ M: 33, N: 13, K: 65, transB: false, batch: 2, lda: 70, ldb: 39, batchA: 33 * 70, batchB: 13, ldc: 39, batchC: 13, offA: 1, offB: 2, offC: 5, tile: DEFAULT_TILE, types: F16, vec4: false });
    await check({ M: 65, N: 130, K: 36, transB: true, bias: true, offBias: 7, accumulate: true, alpha: -1.5, offA: 4, lda: 36, ldb: 36, tile: DEFAULT_TILE, types: F16, vec4: true });
    await check({ M: 130, N: 33, K: 64, transB: true, bias: true, accumulate: true, ldc: 40, offC: 2, tile: DEFAULT_TILE, types: INTO_F32, vec4: true });
    // Mixed storage (each compiles its own variant, slowly on lavapipe: one call each).
    await check({ M: 33, N: 20, K: 40, transB: true, bias: true, tile: DEFAULT_TILE, types: { a: 'f32', b: 'f16', c: 'f16' }, vec4: true });
    await check({ M: 33, N: 20, K: 40, transB: false, accumulate: true, bias: true, tile: DEFAULT_TILE, types: { a: 'f16', b: 'f32', bias: 'f32', c: 'f32' }, vec4: true });
  });

  it('causal modes: skipped tiles (f16 scores) and K limited by the diagonal (f16 pattern·V)', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const shuffle: MatmulTile = { kernel: 'shuffle' };
    const withShuffle = tileProblem(shuffle, ctx().limits, tileCaps(ctx())) === null ? [shuffle] : [];
    for (const tile of [DEFAULT_TILE, scalar(DEFAULT_TILE), ...withShuffle]) {
      const vec4 = vec4If(tile, true);
      for (const [n, offset] of [[130, 0], [65, 0], [33, 20], [1, 0]] as const) {
        const ctxLen = n + offset;
        await check({ M: n, N: ctxLen, K: 8, transB: true, batch: 2, lda: 16, ldb: 16, batchA: 8, batchB: 8, ldc: ctxLen, batchC: n * ctxLen, alpha: 0.35, causal: 'skip-masked-tiles', causalOffset: offset, tile, types: F16, vec4 });
        const lda = vec4 ? Math.ceil(ctxLen / 4) * 4 : ctxLen + 1;
        await check({ M: n, N: 12, K: ctxLen, transB: false, batch: 2, lda, batchA: n * lda, ldb: 24, batchB: 12, ldc: 24, batchC: 12, causal: 'limit-k', causalOffset: offset, tile, types: F16, vec4 });
      }
    }
  });

  it('every shipped tile config, and tiles fitted to small shapes', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const g = ctx();
    for (const tile of SHIPPED.filter((t) => tileProblem(t, g.limits, tileCaps(g)) === null)) {
      await check({ M: 130, N: 65, K: 36, transB: true, lda: 36, ldb: 40, tile, types: F16, vec4: vec4If(tile, true) });
      await check({ M: 33, N: 20, K: 40, transB: true, bias: true, alpha: 0.5, tile, types: { a: 'f32', b: 'f16', c: 'f16' }, vec4: vec4If(tile, true) });
      await check({ M: 65, N: 130, K: 65, transB: false, bias: true, accumulate: true, batch: 2, lda: 67, ldb: 131, tile: scalar(tile), types: INTO_F32, vec4: false });
    }
    const base = defaultMatmulTile(g.adapterInfo, g.limits); // the tiled default: shuffle tiles are not fitted
    for (const [M, N, K] of [[16, 130, 40], [130, 32, 24]] as const) {
      const tile = fitTileToShape(base, M, N, g.limits);
      await check({ M, N, K, transB: true, lda: 68, ldb: 68, tile, types: F16, vec4: true });
      await check({ M, N, K, transB: false, bias: true, accumulate: true, tile: scalar(tile), types: INTO_F32, vec4: false });
    }
  });

  it('planted errors fail: one element 3 f16 ulps off, B read four elements late, f32 C one f32 part in 1e4 off', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const biggest = (out: Float32Array, from: number, n: number) => {
      let k = from;
      for (let i = from; i < from + n; i++) if (Math.abs(out[i]!) > Math.abs(out[k]!)) k = i;
      return k;
    };
    const base: Case = { M: 33, N: 20, K: 64, transB: true, tile: DEFAULT_TILE, types: F16, vec4: true };
    expect(await run(base, seed), `seed ${seed}`).toBeNull();
    const ulps = (out: Float32Array, { offC: from }: { offC: number }) => {
      const k = biggest(out, from, 33 * 20);
      out[k] = out[k]! * (1 + 6 * F16_UNIT);
    };
    expect(await run({ ...base, plant: ulps }, seed), `seed ${seed}: 3 ulps passed`).not.toBeNull();
    expect(await run({ ...base, plantOffB: 4 }, seed), `seed ${seed}: B four elements late passed`).not.toBeNull();
    const f32c: Case = { ...base, types: INTO_F32, accumulate: true, bias: true, vec4: true };
    expect(await run(f32c, seed), `seed ${seed}`).toBeNull();
    const tiny = (out: Float32Array, { offC: from }: { offC: number }) => {
      const k = biggest(out, from, 33 * 20);
      out[k] = out[k]! * (1 + 1e-4);
    };
    expect(await run({ ...f32c, plant: tiny }, seed), `seed ${seed}: f32 C 1e-4 off passed`).not.toBeNull();
  });
});

describe('autotune with f16 storage', () => {
  it('is refused by name on a device without shader-f16', async () => {
    // It throws before returning its promise (found when this first ran on an f16 adapter).
    await expect(async () => autotuneMatmul(withoutF16(ctx()), cache(), { precision: 'f16', tune: false })).rejects.toThrow(/shader-f16/);
  });

  it('times f16 candidates apart from f32 ones and keeps each under its own key', async (t) => {
    const g = ctx();
    skipWithout(t, g, 'shader-f16');
    clearTuneMemory();
    const store: TuneStore & { text: string | null } = { text: null, load: () => store.text, save: (t) => void (store.text = t) };
    const candidates = [DEFAULT_TILE, scalar(DEFAULT_TILE)];
    const shape = { M: 128, N: 96, K: 64, transB: true };
    const opts = { tune: true, store, candidates, shape, warmup: 1, runs: 3 } as const;
    const f32 = await autotuneMatmul(g, cache(), opts);
    const lines: string[] = [];
    const f16 = await autotuneMatmul(g, cache(), { ...opts, precision: 'f16', log: (l) => lines.push(l) });
    console.log(lines.join('\n'));
    expect([f32.source, f16.source]).toEqual(['tuned', 'tuned']);
    expect(f32.key).toBe(adapterKey(g.adapterInfo));
    expect(f16.key).toBe(tuneKey(g.adapterInfo, 'f16'));
    expect(f16.key).not.toBe(f32.key);
    expect(f16.measurements!.every((m) => Number.isFinite(m.ms) && !m.error), JSON.stringify(f16.measurements)).toBe(true);
    const entries = JSON.parse(store.text!).entries;
    expect(Object.keys(entries).sort()).toEqual([f32.key, f16.key].sort());
    expect(entries[f16.key].tile).toEqual(f16.tile);
    expect((await autotuneMatmul(g, cache(), { ...opts, precision: 'f16' })).source).toBe('memory');
    clearTuneMemory();
    const again = await autotuneMatmul(g, cache(), { ...opts, precision: 'f16' });
    expect([again.source, again.key]).toEqual(['store', f16.key]);
    expect(again.tile).toEqual(f16.tile);
    // A store holding only the f32 choice does not answer for f16 (on a software adapter 'auto' then gives the default).
    clearTuneMemory();
    const onlyF32: TuneStore & { text: string | null } = { text: JSON.stringify({ ...JSON.parse(store.text!), entries: { [f32.key]: entries[f32.key] } }), load: () => onlyF32.text, save: (t) => void (onlyF32.text = t) };
    const auto = await autotuneMatmul(g, cache(), { ...opts, tune: 'auto', store: onlyF32, precision: 'f16' });
    expect(auto.source).toBe(g.adapterInfo.isSoftware ? 'default' : 'tuned');
    clearTuneMemory();
  });
});
