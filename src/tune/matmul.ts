// Per-adapter choice of the matmul tile configuration (shaders/matmul.wgsl).
//
// Without tuning, prepareMatmul uses `defaultMatmulTile` (matmul.ts): configs measured on known
// adapters, no GPU work. `autotuneMatmul` times a few candidates once on a
// representative product, each candidate's output first checked against float64 samples, then
// timed (src/gpu/timing.ts validateThenTime), and caches the winner per adapter:
// in memory, and in an optional store (a JSON text the caller keeps, e.g. a file in Node; this
// module imports nothing from Node; store.ts). Software adapters are not tuned unless asked: it is slow
// there and their default was measured. f16 storage (`precision: 'f16'`: A, B and C f16, f32
// sums) is timed and stored apart from f32, under the adapter's key with `|f16` appended.

import { createStorage, poison, readAt, upload } from '../gpu/buffers.js';
import { roundArrayToF16 } from '../io/half.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { validateThenTime, type StageTiming, type TimeOptions } from '../gpu/timing.js';
import { seededArray, streamKey } from '../random.js';
import { median } from '../stats.js';
import { allowance, matmulElementError } from '../verify/tolerance.js';
import { release, type PreparedDispatch } from '../gpu/dispatch.js';
import { defaultTileFor, describeTile, matmulFlops, prepareMatmul, tileCaps, tileProblem, type MatmulCall, type MatmulTile, type TiledTile, type TileCaps, type TileLimits } from '../kernels/matmul.js';
import { checkPrecision, requireF16, type Precision } from '../gpu/precision.js';
import { readTuneEntries, saveTuneEntry, tuneKey, type TuneStore } from './store.js';

/** Bumped when the kernel changes enough to invalidate stored choices. */
export const TUNE_VERSION = 2; // 2: the shuffle kernel joined the candidates

/**
 * What the autotuner times, before filtering by the adapter's limits: the H100's best and
 * runners-up (fewer threads, other tile shapes, single-buffered, scalar loads) and lavapipe's best
 * (single-buffered K steps of 16), and the subgroup-shuffle kernel (lavapipe's default where its
 * subgroups are 8 wide), so adapters with other register files, workgroup memory or subgroup
 * widths find theirs.
 */
export const TUNE_CANDIDATES: readonly MatmulTile[] = ([
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 1 },
  { wgX: 16, wgY: 16, tk: 16, rb: 8, stages: 1 },
  { wgX: 16, wgY: 16, tk: 4, rb: 8, stages: 2 },
  { wgX: 16, wgY: 16, tk: 16, rb: 8, stages: 2 },
  { wgX: 8, wgY: 32, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 32, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 8, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 16, tk: 8, rb: 4, stages: 2 },
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2, vec4: false },
] as TiledTile[]).map((t): MatmulTile => ({ vec4: true, groupM: 8, ...t })).concat([{ kernel: 'shuffle' }]);

export const candidateTiles = (limits: TileLimits, candidates: readonly MatmulTile[] = TUNE_CANDIDATES, caps?: TileCaps): MatmulTile[] =>
  candidates.filter((t) => tileProblem(t, limits, caps) === null);

export interface TuneMeasurement {
  tile: MatmulTile;
  /** Median of the timed runs; Infinity when the candidate failed. */
  ms: number;
  tflops: number;
  error?: string;
}

export interface TuneResult {
  tile: MatmulTile;
  /** memory / store: an earlier choice; tuned: timed now; default: not tuned (software adapter, or tune: false). */
  source: 'memory' | 'store' | 'tuned' | 'default';
  key: string;
  timing?: 'timestamp-query' | 'wall-clock';
  shape?: TuneShape;
  measurements?: TuneMeasurement[];
  /** Wall time the tuning took. */
  tuneMs?: number;
  /** Why tuning fell back to the default (e.g. out of memory for its buffers). */
  error?: string;
}

export interface TuneShape {
  M: number;
  N: number;
  K: number;
  transB: boolean;
}

export interface AutotuneOptions {
  store?: TuneStore;
  /**
   * true: tune (unless cached); false: the adapter's default, neither timed nor read from the store;
   * 'auto' (default): tune hardware adapters, and on software ones use a stored choice if any.
   */
  tune?: boolean | 'auto';
  /** Ignore cached choices and time again. */
  retune?: boolean;
  candidates?: readonly MatmulTile[];
  /** Default 4096×4096×1024 with transB on hardware (about 4 waves of 128×128 tiles on an H100), 256³ on software. */
  shape?: TuneShape;
  warmup?: number;
  runs?: number;
  log?: (line: string) => void;
  /** Storage of A, B and C in the timed product (default f32); each precision has its own choice. */
  precision?: Precision;
}

interface StoredChoice {
  tile: MatmulTile;
  tflops: number;
  shape: TuneShape;
  date: string;
  timing: string;
}

const memory = new Map<string, Promise<TuneResult>>();

/**
 * The tile config for this adapter: from memory, the store, a timing of the candidates, or the
 * default, in that order. Concurrent calls for one adapter share one tuning.
 */
export function autotuneMatmul(gpu: GpuContext, cache: PipelineCache, options: AutotuneOptions = {}): Promise<TuneResult> {
  const precision = checkPrecision(options.precision, 'autotune');
  if (precision === 'f16') requireF16(gpu, 'autotune');
  const key = tuneKey(gpu.adapterInfo, precision);
  const tune = options.tune ?? 'auto';
  const fallback = (): Promise<TuneResult> => Promise.resolve({ tile: defaultTileFor(gpu), source: 'default', key });
  if (tune === false) return fallback();
  if (tune === 'auto' && gpu.adapterInfo.isSoftware) {
    // Not timed here, but an earlier `tune: true` on this adapter is used.
    const stored = options.retune ? null : loadStored(options.store, key, gpu);
    return stored ? Promise.resolve({ tile: stored, source: 'store', key }) : fallback();
  }
  // In memory per adapter and per the limits a tile depends on (one adapter can give devices
  // with different limits).
  const l = gpu.limits;
  const memoryKey = [key, l.maxComputeWorkgroupStorageSize, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX, l.maxComputeWorkgroupSizeY].join('|');
  if (!options.retune) {
    const inMemory = memory.get(memoryKey);
    if (inMemory) return inMemory.then((r) => ({ ...r, source: 'memory' as const }));
  }
  const pending = (async (): Promise<TuneResult> => {
    const stored = options.retune ? null : loadStored(options.store, key, gpu);
    if (stored) return { tile: stored, source: 'store', key };
    let result: TuneResult;
    try {
      result = await runTuning(gpu, cache, key, options);
    } catch (e) {
      // Tuning is an optimisation: a failure (its buffers, a lost candidate) leaves the default.
      if (gpu.lostReason) throw e;
      return { tile: defaultTileFor(gpu), source: 'default', key, error: (e as Error).message };
    }
    saveStored(options.store, key, result);
    return result;
  })();
  memory.set(memoryKey, pending);
  pending.catch(() => memory.delete(memoryKey));
  return pending;
}

/** Forgets in-memory choices (tests). */
export function clearTuneMemory(): void {
  memory.clear();
}

function loadStored(store: TuneStore | undefined, key: string, gpu: GpuContext): MatmulTile | null {
  const tile = readTuneEntries<StoredChoice>(store, TUNE_VERSION)[key]?.tile;
  return tile && tileProblem(tile, gpu.limits, tileCaps(gpu)) === null ? tile : null;
}

function saveStored(store: TuneStore | undefined, key: string, r: TuneResult): void {
  if (r.source !== 'tuned') return;
  const best = r.measurements!.find((m) => m.tile === r.tile)!;
  saveTuneEntry<StoredChoice>(store, TUNE_VERSION, key, { tile: r.tile, tflops: best.tflops, shape: r.shape!, date: new Date().toISOString(), timing: r.timing! });
}

async function runTuning(gpu: GpuContext, cache: PipelineCache, key: string, options: AutotuneOptions): Promise<TuneResult> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const software = gpu.adapterInfo.isSoftware;
  let shape = options.shape ?? (software ? { M: 256, N: 256, K: 256, transB: true } : { M: 4096, N: 4096, K: 1024, transB: true });
  // Keep every binding within the adapter's limit (C is the largest).
  while (shape.M * shape.N * 4 > gpu.limits.maxStorageBufferBindingSize || Math.max(shape.M, shape.N) * shape.K * 4 > gpu.limits.maxStorageBufferBindingSize) {
    shape = { ...shape, M: shape.M / 2, N: shape.N / 2 };
  }
  const { M, N, K, transB } = shape;
  const precision = options.precision ?? 'f32';
  const half = precision === 'f16';
  const types = half ? { a: precision, b: precision, c: precision } : undefined;
  const candidates = candidateTiles(gpu.limits, options.candidates ?? TUNE_CANDIDATES, tileCaps(gpu));
  const fallback = defaultTileFor(gpu);
  if (candidates.length === 0) return { tile: fallback, source: 'default', key };

  // The same seeded inputs, uniform in [-1, 1), for every candidate.
  // (f16: rounded, so the float64 check below sees what the kernel reads.)
  const stored = (x: Float32Array) => (half ? roundArrayToF16(x) : x);
  // Stream 0 of seeds 1 and 2 (any fixed stream would do: these are the tuner's own inputs).
  const aHost = stored(seededArray(streamKey(1, 0), M * K, 1));
  const bHost = stored(seededArray(streamKey(2, 0), N * K, 1));
  const owned: GPUBuffer[] = [];
  try {
    const [a, b, c] = await gpu.scoped('autotune: buffers', () => {
      const list = [upload(gpu, aHost, 'autotune A', precision), upload(gpu, bHost, 'autotune B', precision), createStorage(gpu, M * N, 'autotune C', precision)];
      owned.push(...list);
      return list;
    });
    // Every element of three rows of C (first, last and one in the middle) against float64.
    const samples = [...new Set([0, M >> 1, M - 1])].flatMap((m) => Array.from({ length: N }, (_, n) =>
      spotSample(m * N + n, (k) => aHost[m * K + k]!, (k) => (transB ? bHost[n * K + k]! : bHost[k * N + n]!), K, 1, precision)));
    const measurements: TuneMeasurement[] = [];
    let timing: TuneResult['timing'];
    const opts = { warmup: options.warmup ?? 2, runs: options.runs ?? 5, minSampleMs: software ? 0 : 10 };
    for (const tile of candidates) {
      const call: MatmulCall = { label: `autotune ${describeTile(tile)}${half ? ' f16' : ''}`, M, N, K, a: { buffer: a! }, b: { buffer: b! }, c: { buffer: c! }, transB, tile, types };
      const r = await timeMatmulCandidate(gpu, cache, call, samples, opts, precision);
      if (r.timing) {
        timing = r.timing.source;
        const ms = median(r.timing.ms);
        const tflops = matmulFlops(M, N, K) / (ms * 1e9);
        measurements.push({ tile, ms, tflops });
        log(`autotune ${describeTile(tile)}: ${ms.toFixed(3)} ms, ${tflops.toFixed(2)} TFLOP/s (${timing})`);
      } else {
        const error = r.error ?? r.check!.detail;
        measurements.push({ tile, ms: Infinity, tflops: 0, error });
        log(`autotune ${describeTile(tile)}: failed: ${error}`);
      }
    }
    const best = measurements.reduce((x, y) => (y.ms < x.ms ? y : x));
    if (!Number.isFinite(best.ms)) return { tile: fallback, source: 'default', key, measurements };
    return { tile: best.tile, source: 'tuned', key, timing, shape, measurements, tuneMs: performance.now() - started };
  } finally {
    for (const buffer of owned) buffer.destroy();
  }
}

/** One element of C to check: where it is in C's buffer, its float64 value and the judge's allowance. */
export interface SpotSample {
  at: number;
  want: number;
  tol: number;
}

/**
 * C[at] = alpha·Σ_{k<K} a(k)·b(k) in float64, from A's row and op(B)'s column as the kernel reads them, with its
 * allowance (src/verify/tolerance.ts: λ·e of an f32 sum of K products; f16 C: plus one f16 rounding).
 */
export function spotSample(at: number, a: (k: number) => number, b: (k: number) => number, K: number, alpha = 1, precision: Precision = 'f32'): SpotSample {
  let dot = 0, a2 = 0, b2 = 0;
  for (let k = 0; k < K; k++) {
    const x = a(k), y = b(k);
    dot += x * y;
    a2 += x * x;
    b2 += y * y;
  }
  const want = alpha * dot;
  return { at, want, tol: allowance(matmulElementError({ normProduct: Math.sqrt(a2 * b2), K, dot, alpha }), want, precision) };
}

export interface SpotCheck {
  samples: number;
  /** The largest error ÷ allowance (Infinity for a value that is not finite). */
  worstRatio: number;
  passed: boolean;
  detail: string;
}

/** Reads the sampled elements of C back and judges each against its allowance. */
export async function spotCheck(gpu: GpuContext, c: GPUBuffer, samples: readonly SpotSample[], precision: Precision = 'f32'): Promise<SpotCheck> {
  const got = await readAt(gpu, c, samples.map((x) => x.at), precision);
  let worst = 0;
  let worstAt = -1;
  samples.forEach((x, i) => {
    const err = Math.abs(got[i]! - x.want);
    const ratio = err === 0 ? 0 : Number.isFinite(err) ? err / x.tol : Infinity;
    if (ratio > worst || (worstAt < 0 && ratio === Infinity)) [worst, worstAt] = [ratio, i];
  });
  const passed = worst <= 1;
  const bad = samples[worstAt];
  const detail = passed ? '' : `wrong result at C[${bad!.at}]: ${got[worstAt]} instead of ${bad!.want} (${worst.toExponential(1)}× its allowance)`;
  return { samples: samples.length, worstRatio: worst, passed, detail };
}

export interface CandidateRun {
  /** The spot check of the checked run (null when the candidate failed before it). */
  check: SpotCheck | null;
  /** Only for an output that passed. */
  timing: StageTiming | null;
  /** The candidate failed: the device refused its pipeline, or a GPU error in its run. */
  error?: string;
}

/**
 * One candidate config, as the autotuner and the tuning script (bench/tune/matmul.ts) both time it: prepared in an
 * error scope, C poisoned with NaN (so a config that skips writes cannot pass on an earlier one's output), one run
 * spot-checked, and only a correct output timed. A failure is returned, not thrown (unless the device was lost).
 */
export async function timeMatmulCandidate(gpu: GpuContext, cache: PipelineCache, call: MatmulCall, samples: readonly SpotSample[], opts: TimeOptions,
  precision: Precision = 'f32'): Promise<CandidateRun> {
  let d: PreparedDispatch | undefined;
  try {
    d = await gpu.scoped(call.label, () => prepareMatmul(gpu, cache, call));
    poison(gpu, call.c.buffer, undefined, precision);
    return await validateThenTime(gpu, call.label, [{ name: call.label, dispatches: [d] }], () => spotCheck(gpu, call.c.buffer, samples, precision), opts);
  } catch (e) {
    if (gpu.lostReason) throw e;
    return { check: null, timing: null, error: (e as Error).message.split('\n')[0] };
  } finally {
    if (d) release([d]);
  }
}
