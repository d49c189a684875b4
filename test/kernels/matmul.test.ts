// shaders/matmul.wgsl and shaders/matmul_shuffle.wgsl against the float64 reference
// (src/reference/attention.ts), for every tile config the project ships, both load variants (vec4
// and scalar), odd sizes, strides, offsets, batches, bias, accumulation and both causal modes; and
// the autotuner's choice logic.
// Fresh random inputs each run; a failure prints its seed.

import { beforeAll, describe, expect, it } from 'vitest';
import { freshSeed, useGpuContext } from '../helpers/gpu.js';
import { describeCase, runMatmulCase, type MatmulCase as Case } from './matmul-case.js';
import { scalar, vec4If } from './matmul-layout.js';
import { TUNE_CANDIDATES, autotuneMatmul, candidateTiles, clearTuneMemory } from '../../src/tune/matmul.js';
import { adapterKey, type TuneStore } from '../../src/tune/store.js';
import {
  ADAPTER_DEFAULTS,
  DEFAULT_TILE,
  FALLBACK_TILES,
  defaultMatmulTile,
  defaultTileFor,
  describeTile,
  fitTileToShape,
  isShuffle,
  matmulVariant,
  tileCaps,
  tileCols,
  tileRows,
  tileThreads,
  tileProblem,
  tileStorageBytes,
  usesVec4,
  vec4Aligned,
  type MatmulCall,
  type MatmulTile,
  type ShuffleTile,
  type TileCaps,
  type TileLimits,
} from '../../src/kernels/matmul.js';

const { ctx, cache: pipelines } = useGpuContext();
beforeAll(() => {
  console.log(`matmul tests on ${ctx().adapterInfo.name}${ctx().adapterInfo.isSoftware ? ' (software adapter)' : ''}`);
});

/** Runs one matmul on fresh random data and fails with the seed, the case and the worst element (matmul-case.ts). */
async function check(c: Case, seed = freshSeed()): Promise<void> {
  const problem = await runMatmulCase(ctx(), pipelines(), c, seed);
  if (problem) expect.fail(`${describeCase(c, seed)}: ${problem}`);
}

// The configs the project ships: the portable default, every adapter's measured defaults, and the
// compatibility fallbacks (each a few pipelines to compile, slowly, on lavapipe).
const SHIPPED: MatmulTile[] = [];
for (const t of [DEFAULT_TILE, ...ADAPTER_DEFAULTS.flatMap((d) => d.tiles), ...FALLBACK_TILES]) {
  if (!SHIPPED.some((s) => JSON.stringify(s) === JSON.stringify(t))) SHIPPED.push(t);
}
const SHUFFLE: ShuffleTile = { kernel: 'shuffle' };
/** The tiled default and, where the adapter can run it, the shuffle kernel: each test runs both. */
const kernels = (): MatmulTile[] => {
  const problem = tileProblem(SHUFFLE, ctx().limits, tileCaps(ctx()));
  if (problem) console.log(`shuffle kernel not tested on this adapter: ${problem}`);
  return problem ? [DEFAULT_TILE] : [DEFAULT_TILE, SHUFFLE];
};

describe('matmul tile configs (no GPU)', () => {
  const webgpuDefault: TileLimits = {
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupSizeX: 256,
    maxComputeWorkgroupSizeY: 256,
    maxComputeWorkgroupStorageSize: 16384,
  };
  const compat: TileLimits = { ...webgpuDefault, maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupSizeX: 128, maxComputeWorkgroupSizeY: 128 };
  const h100: TileLimits = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupStorageSize: 49152 };
  const sg8: TileCaps = { subgroups: true, subgroupMinSize: 8 };

  it('the default runs within WebGPU’s default limits', () => {
    expect(tileProblem(DEFAULT_TILE, webgpuDefault)).toBeNull();
    expect(tileStorageBytes(DEFAULT_TILE)).toBe(8 * (33 + 33) * 16);
  });
  it('every shipped config is valid somewhere, and a fallback fits compatibility limits', () => {
    for (const t of SHIPPED) expect(tileProblem(t, h100, sg8), describeTile(t)).toBeNull();
    expect(tileProblem(defaultMatmulTile({ vendor: '', architecture: '', device: '', description: '' }, compat), compat)).toBeNull();
    expect(defaultMatmulTile({ vendor: '', architecture: '', device: '', description: '' }, webgpuDefault)).toEqual(DEFAULT_TILE);
  });
  it('per-adapter defaults respect the limits', () => {
    const nv = { vendor: 'nvidia', architecture: 'hopper', device: '', description: '' };
    expect(tileProblem(defaultMatmulTile(nv, h100), h100)).toBeNull();
    expect(tileProblem(defaultMatmulTile(nv, webgpuDefault), webgpuDefault)).toBeNull();
    expect(tileProblem(defaultMatmulTile(nv, compat), compat)).toBeNull();
    const lvp = { vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 19.1.7, 256 bits)', description: '' };
    const lavapipe = ADAPTER_DEFAULTS.find((d) => d.label.startsWith('lavapipe'))!.tiles;
    expect(defaultMatmulTile(lvp, { ...h100, maxComputeWorkgroupStorageSize: 32768 }, sg8)).toEqual(lavapipe[0]);
    expect(isShuffle(lavapipe[0]!)).toBe(true);
    // Without subgroups of 8 (or without the feature, or not told) the tiled default.
    for (const caps of [undefined, { subgroups: true, subgroupMinSize: 4 }, { subgroups: false, subgroupMinSize: 8 }]) {
      expect(defaultMatmulTile(lvp, { ...h100, maxComputeWorkgroupStorageSize: 32768 }, caps)).toEqual(lavapipe[1]);
    }
  });
  it('the shuffle kernel is refused, with the reason, where subgroups are missing or narrower than 8', () => {
    expect(tileProblem(SHUFFLE, webgpuDefault, sg8)).toBeNull();
    expect(tileProblem(SHUFFLE, webgpuDefault)).toMatch(/subgroups feature \(adapter capabilities not given\)/);
    expect(tileProblem(SHUFFLE, webgpuDefault, { subgroups: false, subgroupMinSize: 32 })).toMatch(/lacks/);
    expect(tileProblem(SHUFFLE, webgpuDefault, { subgroups: true, subgroupMinSize: 4 })).toMatch(/at least 8 .* smallest is 4/);
    expect(tileProblem(SHUFFLE, webgpuDefault, { subgroups: true, subgroupMinSize: 0 })).toMatch(/not reported/);
    expect(tileProblem({ kernel: 'other' } as unknown as MatmulTile, webgpuDefault, sg8)).toMatch(/kernel "other"/);
    expect(describeTile(SHUFFLE)).toBe('16x16 shuffle sg8');
    expect(tileStorageBytes(SHUFFLE)).toBe(0);
    expect(fitTileToShape(SHUFFLE, 1, 1, webgpuDefault)).toEqual(SHUFFLE);
    expect(matmulVariant({ transB: true, tile: SHUFFLE }).name).toBe('matmul_shuffle');
  });
  it('the candidates are filtered by the limits', () => {
    for (const t of candidateTiles(webgpuDefault)) expect(tileProblem(t, webgpuDefault)).toBeNull();
    expect(candidateTiles(webgpuDefault).length).toBeLessThan(TUNE_CANDIDATES.length);
    expect(candidateTiles(h100, TUNE_CANDIDATES, sg8).length).toBe(TUNE_CANDIDATES.length);
    expect(candidateTiles(h100).length).toBe(TUNE_CANDIDATES.length - 1); // the shuffle kernel, without capabilities
    expect(tileProblem({ wgX: 16, wgY: 16, tk: 12, rb: 8 }, h100)).toMatch(/tk/);
    expect(tileProblem({ wgX: 4, wgY: 4, tk: 32, rb: 8 }, h100)).toMatch(/stage/);
    expect(tileProblem({ wgX: 32, wgY: 32, tk: 8, rb: 8 }, webgpuDefault)).toMatch(/maxComputeInvocationsPerWorkgroup/);
  });
  it('tiles fitted to a shape shrink only to cut padded work, within the limits', () => {
    const base = ADAPTER_DEFAULTS[0]!.tiles[0]!; // 128×128
    // Shapes that fill the tile keep it: the GPT-3 projections and heads at n = 2048.
    expect(fitTileToShape(base, 2048, 12288, h100)).toEqual(base);
    expect(fitTileToShape(base, 2048, 128, h100)).toEqual(base);
    // A 16-token sequence: 16 rows, not 128.
    const short = fitTileToShape(base, 16, 12288, h100);
    expect(tileRows(short)).toBe(16);
    expect(tileCols(short)).toBe(128);
    // A 32-wide head: 32 columns.
    expect(tileCols(fitTileToShape(base, 2048, 32, h100))).toBe(32);
    expect(tileRows(fitTileToShape(base, 2048, 32, h100))).toBe(128);
    for (const [M, N] of [[1, 1], [7, 13], [16, 32], [33, 65], [130, 7], [200, 12]]) {
      for (const limits of [h100, webgpuDefault, compat]) {
        const from = defaultMatmulTile({ vendor: '', architecture: '', device: '', description: '' }, limits);
        const t = fitTileToShape(from, M!, N!, limits);
        expect(tileProblem(t, limits), `${M}×${N}: ${describeTile(t)}`).toBeNull();
        expect(tileThreads(t)).toBeGreaterThanOrEqual(Math.min(32, tileThreads(from)));
        expect(tileRows(t)).toBeLessThanOrEqual(tileRows(from));
        expect(tileCols(t)).toBeLessThanOrEqual(tileCols(from));
        expect({ ...t, wgX: 0, wgY: 0 }).toEqual({ ...from, wgX: 0, wgY: 0 });
      }
    }
  });
  it('vec4 needs aligned strides, offsets, batch strides and bindings', () => {
    const buffer = { size: 4096 } as GPUBuffer;
    const base: MatmulCall = { label: 't', M: 5, N: 6, K: 7, a: { buffer }, b: { buffer }, c: { buffer }, transB: true, lda: 8, ldb: 12 };
    expect(vec4Aligned(base)).toBe(true);
    expect(vec4Aligned({ ...base, lda: 7 })).toBe(false);
    expect(vec4Aligned({ ...base, offB: 2 })).toBe(false);
    expect(vec4Aligned({ ...base, batch: 2, batchA: 6 })).toBe(false);
    expect(vec4Aligned({ ...base, batch: 1, batchA: 6 })).toBe(true);
    expect(vec4Aligned({ ...base, b: { buffer, offset: 256, size: 1000 } })).toBe(false);
    expect(usesVec4({ ...base, tile: scalar(DEFAULT_TILE) })).toBe(false);
    const key = (v: boolean) => JSON.stringify(matmulVariant({ ...base, tile: DEFAULT_TILE }, v).flags);
    expect(key(true)).not.toBe(key(false));
  });
});

describe('matmul vs float64', () => {
  const sizes = [1, 7, 33, 65, 130];

  it('odd sizes, every M×N×K combination (default tile and shuffle kernel, both load variants, both B layouts)', async () => {
    for (const tile of kernels()) {
      for (const M of sizes) {
        for (const N of sizes) {
          for (const K of sizes) {
            // Dense operands: vec4 applies when K (A's and a transposed B's stride) and N (B's) are multiples of 4.
            await check({ M, N, K, transB: true, tile, vec4: vec4If(tile, K % 4 === 0) });
            await check({ M, N, K, transB: false, tile: scalar(tile), vec4: false });
          }
        }
      }
    }
  });

  it('odd sizes with padded strides: the vec4 variant on every size, K = 1 included', async () => {
    for (const [M, N, K] of [[1, 1, 1], [7, 33, 1], [65, 7, 130], [130, 65, 33], [33, 130, 65], [130, 130, 7]] as const) {
      const pad = (x: number) => Math.ceil(x / 4) * 4 + 4;
      await check({ M, N, K, transB: true, lda: pad(K), ldb: pad(K), ldc: N + 3, tile: DEFAULT_TILE, vec4: true });
      await check({ M, N, K, transB: false, lda: pad(K), ldb: pad(N), ldc: N + 1, tile: DEFAULT_TILE, vec4: true });
    }
  });

  it('planted errors fail the check: one element 1e-4 relative off, one product dropped', async () => {
    const base: Case = { M: 33, N: 20, K: 64, transB: true, tile: DEFAULT_TILE, vec4: true };
    const seed = freshSeed();
    await check(base, seed);
    const biggest = (out: Float32Array) => out.subarray(0, 33 * 20).reduce((k, v, i, a) => (Math.abs(v) > Math.abs(a[k]!) ? i : k), 0);
    const off = (out: Float32Array) => void (out[biggest(out)]! *= 1 + 1e-4);
    await expect(check({ ...base, plant: off }, seed), `seed ${seed}: 1e-4 off passed`).rejects.toThrow(/worst element/);
    // A dropped product: C₀₀ without its largest term a₀ₖ·b₀ₖ (B is [N, K]: row 0 of both starts at 0).
    const drop = (out: Float32Array, x: { a: Float32Array; b: Float32Array }) => {
      let k = 0;
      for (let j = 1; j < base.K; j++) if (Math.abs(x.a[j]! * x.b[j]!) > Math.abs(x.a[k]! * x.b[k]!)) k = j;
      out[0]! -= x.a[k]! * x.b[k]!;
    };
    await expect(check({ ...base, plant: drop }, seed), `seed ${seed}: a dropped product passed`).rejects.toThrow(/worst element/);
  });

  it('strides, offsets, batches, bias, accumulation, alpha', async () => {
    for (const tile of kernels()) {
      const vec4 = vec4If(tile, true);
      // Heads side by side, as attention binds them: A [seq, heads·dHead] with batch stride dHead.
      await check({ M: 33, N: 65, K: 16, transB: true, batch: 3, lda: 48, ldb: 48, batchA: 16, batchB: 16, ldc: 65, batchC: 33 * 65, offA: 4, offB: 8, offC: 3, alpha: 0.25, tile, vec4 });
      await check({ M: 33, N: 13, K: 65, transB: false, batch: 2, lda: 70, ldb: 39, batchA: 33 * 70, batchB: 13, ldc: 39, batchC: 13, offA: 1, offB: 2, offC: 5, tile, vec4: false });
      await check({ M: 65, N: 130, K: 33, transB: true, bias: true, offBias: 7, accumulate: true, alpha: -1.5, offA: 4, lda: 36, ldb: 36, tile, vec4 });
      await check({ M: 130, N: 33, K: 65, transB: false, bias: true, accumulate: true, ldc: 40, offC: 2, tile: scalar(tile), vec4: false });
      // A transposed B with scalar loads (K's stride not a multiple of 4).
      await check({ M: 7, N: 65, K: 130, transB: true, alpha: 2, lda: 131, tile, vec4: false });
    }
  });

  it('causal modes: skipped tiles and a K range limited by the diagonal', async () => {
    for (const tile of [DEFAULT_TILE, scalar(DEFAULT_TILE), ...kernels().filter(isShuffle)]) {
      const vec4 = vec4If(tile, true);
      for (const [n, offset] of [[130, 0], [65, 0], [200, 0], [33, 20], [1, 0]] as const) {
        const kvSeq = n + offset;
        // Scores q·kᵀ over 2 heads side by side (d = 8), masked tiles skipped.
        await check({
          M: n, N: kvSeq, K: 8, transB: true, batch: 2, lda: 16, ldb: 16, batchA: 8, batchB: 8, ldc: kvSeq, batchC: n * kvSeq,
          alpha: 0.35, causal: 'skip-masked-tiles', causalOffset: offset, tile, vec4,
        });
        // Weighted sums pattern·v: the pattern is 0 past the limit, so K stops there.
        const lda = vec4 ? Math.ceil(kvSeq / 4) * 4 : kvSeq + 1;
        await check({
          M: n, N: 12, K: kvSeq, transB: false, batch: 2, lda, batchA: n * lda, ldb: 24,
          batchB: 12, ldc: 24, batchC: 12, causal: 'limit-k', causalOffset: offset, tile, vec4,
        });
      }
    }
  });

  it('tiles fitted to small shapes (short sequences, narrow heads), A·B and A·Bᵀ, causal', async () => {
    // The adapter's tiled default (its shuffle kernel, where it has one, is not fitted: 16×16 already).
    const base = defaultMatmulTile(ctx().adapterInfo, ctx().limits);
    for (const [M, N, K] of [[16, 130, 40], [7, 12, 33], [1, 65, 16], [130, 32, 24], [33, 13, 65]] as const) {
      const tile = fitTileToShape(base, M, N, ctx().limits);
      expect(tileRows(tile) * tileCols(tile), `${M}×${N} fitted ${describeTile(tile)}`).toBeLessThan(tileRows(base) * tileCols(base));
      await check({ M, N, K, transB: true, lda: 68, ldb: 68, tile, vec4: true });
      await check({ M, N, K, transB: false, bias: true, accumulate: true, tile: scalar(tile), vec4: false });
      await check({ M, N, K: M, transB: false, causal: 'limit-k', batch: 2, ldb: 2 * N, batchB: N, ldc: 2 * N, batchC: N, lda: M + 1, tile: scalar(tile), vec4: false });
      await check({ M, N: M, K, transB: true, causal: 'skip-masked-tiles', batch: 3, lda: 3 * K, ldb: 3 * K, batchA: K, batchB: K, tile, vec4: K % 4 === 0 });
    }
  });

  it('every shipped tile config (vec4 and scalar, A·B and A·Bᵀ, causal, bias + accumulation)', async () => {
    for (const tile of SHIPPED) {
      const problem = tileProblem(tile, ctx().limits, tileCaps(ctx()));
      if (problem) {
        console.log(`skipping ${describeTile(tile)} on this adapter: ${problem}`);
        continue;
      }
      // Two variants per config cover its code paths: vec4 loads with the transposing B store,
      // and scalar loads with the row-major B store and the bias/accumulate epilogue.
      const vec4 = vec4If(tile, true);
      await check({ M: 130, N: 65, K: 33, transB: true, lda: 36, ldb: 40, tile, vec4 });
      await check({ M: 200, N: 200, K: 16, transB: true, batch: 2, lda: 32, ldb: 32, batchA: 16, batchB: 16, causal: 'skip-masked-tiles', tile, vec4 });
      await check({ M: 65, N: 130, K: 65, transB: false, bias: true, accumulate: true, batch: 2, lda: 67, ldb: 131, tile: scalar(tile), vec4: false });
      await check({ M: 130, N: 12, K: 130, transB: false, ldb: 24, causal: 'limit-k', causalOffset: 3, tile: scalar(tile), vec4: false, bias: true, accumulate: true });
    }
  });
});

describe('autotune', () => {
  const memoryStore = (): TuneStore & { text: string | null } => {
    const s = {
      text: null as string | null,
      load: () => s.text,
      save: (t: string) => {
        s.text = t;
      },
    };
    return s;
  };

  it('software adapters get their measured default without timing anything', async () => {
    const g = ctx();
    clearTuneMemory();
    const store = memoryStore();
    const r = await autotuneMatmul(g, pipelines(), { store });
    if (g.adapterInfo.isSoftware) {
      expect(r.source).toBe('default');
      expect(r.tile).toEqual(defaultTileFor(g));
      expect(store.text).toBeNull();
    }
    expect(r.key).toBe(adapterKey(g.adapterInfo));
    expect(tileProblem(r.tile, g.limits, tileCaps(g))).toBeNull();
  });

  it('tunes when asked, keeps the winner in memory and in the store, and reads it back', async () => {
    const g = ctx();
    clearTuneMemory();
    const store = memoryStore();
    const lines: string[] = [];
    // Two candidates the other tests compiled already (A·Bᵀ, vec4), on a small product.
    const candidates = [DEFAULT_TILE, scalar(DEFAULT_TILE)];
    const tuned = await autotuneMatmul(g, pipelines(), { tune: true, store, candidates, shape: { M: 128, N: 96, K: 64, transB: true }, warmup: 1, runs: 3, log: (l) => lines.push(l) });
    console.log(lines.join('\n'));
    expect(tuned.source).toBe('tuned');
    expect(tuned.measurements!.every((m) => Number.isFinite(m.ms) && !m.error)).toBe(true);
    expect(candidates).toContainEqual(tuned.tile);
    expect(JSON.parse(store.text!).entries[tuned.key].tile).toEqual(tuned.tile);
    const again = await autotuneMatmul(g, pipelines(), { tune: true, store });
    expect(again.source).toBe('memory');
    expect(again.tile).toEqual(tuned.tile);
    clearTuneMemory();
    const fromStore = await autotuneMatmul(g, pipelines(), { tune: true, store });
    expect(fromStore.source).toBe('store');
    expect(fromStore.tile).toEqual(tuned.tile);
    // A stale or corrupt store is ignored.
    clearTuneMemory();
    const corrupt = memoryStore();
    corrupt.text = '{not json';
    const fallback = await autotuneMatmul(g, pipelines(), { tune: 'auto', store: corrupt, candidates, shape: { M: 128, N: 96, K: 64, transB: true }, warmup: 1, runs: 3 });
    expect(fallback.source).toBe(g.adapterInfo.isSoftware ? 'default' : 'tuned');
    // tune: false never reads the store, even a valid one.
    clearTuneMemory();
    expect((await autotuneMatmul(g, pipelines(), { tune: false, store })).source).toBe('default');
  });
});
