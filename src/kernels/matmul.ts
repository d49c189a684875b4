// Host side of shaders/matmul.wgsl: tile configuration and its limits, the vec4-load choice,
// parameter packing, grid.

import matmulSource from '../../shaders/matmul.wgsl';
import { createStorage, createUniform } from '../gpu/buffers.js';
import type { AdapterDescription, GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { KernelVariant, PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, checkGrid, checkIndexRange, type Binding, type PreparedDispatch } from './dispatch.js';

export interface MatmulTile {
  /** Threads along N (columns of C). */
  wgX: number;
  /** Threads along M (rows of C). */
  wgY: number;
  /** K per workgroup step: 4, 8, 16 or 32. */
  tk: number;
  /** Register block per thread: 4 (4×4) or 8 (8×8). */
  rb: 4 | 8;
  /** Workgroup tile buffers: 2 (default) overlaps storing the next K step with reading this one. */
  stages?: 1 | 2;
  /** Read A and B 16 bytes at a time where a call's alignment allows (default true). */
  vec4?: boolean;
  /** Tile rows per group in the workgroup order (L2 reuse; default 8; 1 = row-major). */
  groupM?: number;
}

/**
 * Runs on every adapter that offers WebGPU's default limits (256 invocations, 16 KiB of
 * workgroup storage): 256 threads, 128×128 tiles, 8.25 KiB. Per-adapter choices below;
 * autotune.ts times candidates instead.
 */
export const DEFAULT_TILE: Readonly<MatmulTile> = Object.freeze({ wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 });

export interface AdapterDefaults {
  /** Matched against "vendor architecture device description" of the adapter. */
  match: RegExp;
  label: string;
  /** Best first; the first that fits the adapter's limits is its default. */
  tiles: MatmulTile[];
}

/**
 * Configs measured on real adapters with bench/matmul-tune.ts (figures and their provenance in
 * bench/RESULTS.md, "Where the shipped defaults come from"). NVIDIA: 128×128 tiles double-buffered
 * with K steps of 8; K steps of 16 or more need 33 KiB of tiles, one workgroup per multiprocessor.
 * lavapipe: 128×128 tiles, single-buffered (each invocation costs CPU time; fewer, larger tiles win).
 */
export const ADAPTER_DEFAULTS: readonly AdapterDefaults[] = [
  {
    match: /nvidia/i,
    label: 'NVIDIA (measured on H100)',
    tiles: [{ wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2, vec4: true, groupM: 8 }],
  },
  {
    match: /llvmpipe|lavapipe/i,
    label: 'lavapipe (software)',
    tiles: [{ wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 }],
  },
];

/**
 * For adapters without measurements, the first that fits: the H100's choice (16.5 KiB of tiles),
 * the default (WebGPU's default limits), then compatibility-mode limits (128 invocations), then
 * 64 invocations.
 */
export const FALLBACK_TILES: readonly MatmulTile[] = [
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2, vec4: true, groupM: 8 },
  DEFAULT_TILE,
  { wgX: 16, wgY: 8, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 },
  { wgX: 8, wgY: 8, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 },
  { wgX: 8, wgY: 8, tk: 8, rb: 4, stages: 1, vec4: true, groupM: 8 },
];

/** Registers per operand for the next K step: mirrors MAX_STAGED in shaders/matmul.wgsl. */
export const MAX_STAGED = 8;

export const tileRows = (t: MatmulTile): number => t.wgY * t.rb;
export const tileCols = (t: MatmulTile): number => t.wgX * t.rb;
const stagesOf = (t: MatmulTile): number => t.stages ?? 2;

/** Workgroup storage of a tile config in bytes: k-major vec4 rows, each padded by one vec4. */
export function tileStorageBytes(t: MatmulTile): number {
  const rowA = (t.wgY * t.rb) / 4 + 1;
  const rowB = (t.wgX * t.rb) / 4 + 1;
  return stagesOf(t) * t.tk * (rowA + rowB) * 16;
}

export const tileThreads = (t: MatmulTile): number => t.wgX * t.wgY;

export const describeTile = (t: MatmulTile): string =>
  `${tileRows(t)}x${tileCols(t)} wg${t.wgX}x${t.wgY} rb${t.rb} tk${t.tk} s${stagesOf(t)} g${t.groupM ?? 8}${t.vec4 === false ? ' scalar' : ' vec4'}`;

export type TileLimits = Pick<
  GPUSupportedLimits,
  'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupSizeY' | 'maxComputeWorkgroupStorageSize'
>;

/** Why a tile config cannot run (shader preconditions or the adapter's limits), or null when it can. */
export function tileProblem(t: MatmulTile, limits: TileLimits): string | null {
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  if (!positive(t.wgX) || !positive(t.wgY)) return `workgroup ${t.wgX}×${t.wgY} must be positive integers`;
  if (t.rb !== 4 && t.rb !== 8) return `register block ${t.rb} must be 4 or 8`;
  if (![4, 8, 16, 32].includes(t.tk)) return `tk ${t.tk} must be 4, 8, 16 or 32`;
  const stages = stagesOf(t);
  if (stages !== 1 && stages !== 2) return `stages ${stages} must be 1 or 2`;
  const g = t.groupM ?? 8;
  if (!positive(g) || g > 64) return `groupM ${g} must be an integer in 1..64`;
  const threads = tileThreads(t);
  const staged = Math.max(Math.ceil((tileRows(t) * t.tk) / 4 / threads), Math.ceil((tileCols(t) * t.tk) / 4 / threads));
  if (staged > MAX_STAGED) return `each thread would stage ${staged} vec4 per operand (at most ${MAX_STAGED}): more threads or a smaller tk`;
  if (threads > limits.maxComputeInvocationsPerWorkgroup) {
    return `${threads} invocations exceed maxComputeInvocationsPerWorkgroup (${limits.maxComputeInvocationsPerWorkgroup})`;
  }
  if (t.wgX > limits.maxComputeWorkgroupSizeX) return `wgX ${t.wgX} exceeds maxComputeWorkgroupSizeX (${limits.maxComputeWorkgroupSizeX})`;
  if (t.wgY > limits.maxComputeWorkgroupSizeY) return `wgY ${t.wgY} exceeds maxComputeWorkgroupSizeY (${limits.maxComputeWorkgroupSizeY})`;
  const bytes = tileStorageBytes(t);
  if (bytes > limits.maxComputeWorkgroupStorageSize) {
    return `${bytes} bytes of workgroup tiles exceed maxComputeWorkgroupStorageSize (${limits.maxComputeWorkgroupStorageSize})`;
  }
  return null;
}

/** The measured default for this adapter, or the largest fallback that fits its limits. */
export function defaultMatmulTile(adapter: Pick<AdapterDescription, 'vendor' | 'architecture' | 'device' | 'description'>, limits: TileLimits): MatmulTile {
  const all = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].join(' ');
  const known = ADAPTER_DEFAULTS.find((d) => d.match.test(all));
  const fits = [...(known?.tiles ?? []), ...FALLBACK_TILES].find((t) => tileProblem(t, limits) === null);
  if (!fits) throw new Error(`no matmul tile fits this adapter's limits (${JSON.stringify(limits)})`);
  return { ...fits };
}

/** Fitted tiles keep at least this many threads (one warp on NVIDIA, four SIMD-8 rows on lavapipe). */
const MIN_FITTED_THREADS = 32;

/**
 * `base` with its threads along M or N halved while that cuts the padded work of an M × N
 * product: a 16-row projection (a short sequence) or a 32-wide head would otherwise compute a
 * 128-row or 128-column tile whose rows or columns are mostly past the edge, every FMA of them
 * still paid. Shapes that fill the base tile keep it unchanged; a tile never grows, and stops
 * at MIN_FITTED_THREADS or at a config the shader or the limits reject.
 */
export function fitTileToShape(base: MatmulTile, M: number, N: number, limits: TileLimits): MatmulTile {
  const padded = (t: MatmulTile) => Math.ceil(M / tileRows(t)) * tileRows(t) * Math.ceil(N / tileCols(t)) * tileCols(t);
  let t = base;
  for (;;) {
    const smaller = [{ ...t, wgY: t.wgY / 2 }, { ...t, wgX: t.wgX / 2 }].filter(
      (c) => Number.isInteger(c.wgX) && Number.isInteger(c.wgY) && tileThreads(c) >= Math.min(MIN_FITTED_THREADS, tileThreads(base)) &&
        padded(c) < padded(t) && tileProblem(c, limits) === null,
    );
    if (smaller.length === 0) return t;
    t = smaller.reduce((x, y) => (padded(y) < padded(x) ? y : x));
  }
}

export type CausalMode = 'none' | 'skip-masked-tiles' | 'limit-k';
const CAUSAL_CODE: Record<CausalMode, number> = { none: 0, 'skip-masked-tiles': 1, 'limit-k': 2 };

export interface MatmulCall {
  label: string;
  M: number;
  N: number;
  K: number;
  a: Binding;
  b: Binding;
  c: Binding;
  bias?: Binding;
  transB: boolean;
  accumulate?: boolean;
  alpha?: number;
  /** Row strides; default K (A), N or K (B), N (C). */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Element offsets within each binding. */
  offA?: number;
  offB?: number;
  offC?: number;
  offBias?: number;
  batch?: number;
  batchA?: number;
  batchB?: number;
  batchC?: number;
  causal?: CausalMode;
  causalOffset?: number;
  /** Used exactly as given. */
  tile?: MatmulTile;
  /** Without `tile`: the config to fit to this call's shape (fitTileToShape); default the adapter's. */
  baseTile?: MatmulTile;
}

const bindingBytes = (b: Binding): number => b.size ?? b.buffer.size - (b.offset ?? 0);

/**
 * Whether A and B can be read as vec4: every row of A (and of B, along K with TRANS_B or along N
 * without) starts at a multiple of 4 elements in every batch, and each binding starts and ends
 * on a 16-byte boundary, so a vec4 holding any wanted element lies inside the binding.
 */
export function vec4Aligned(call: MatmulCall): boolean {
  const batched = (call.batch ?? 1) > 1;
  const operand = (binding: Binding, ld: number, off: number, batchStride: number) =>
    ld % 4 === 0 && off % 4 === 0 && (!batched || batchStride % 4 === 0) && (binding.offset ?? 0) % 16 === 0 && bindingBytes(binding) % 16 === 0;
  return (
    operand(call.a, call.lda ?? call.K, call.offA ?? 0, call.batchA ?? 0) &&
    operand(call.b, call.ldb ?? (call.transB ? call.K : call.N), call.offB ?? 0, call.batchB ?? 0)
  );
}

/** Whether this call runs the vec4 variant: the tile allows it and the call is aligned. */
export const usesVec4 = (call: MatmulCall): boolean => (call.tile ?? DEFAULT_TILE).vec4 !== false && vec4Aligned(call);

export function matmulVariant(call: Pick<MatmulCall, 'transB' | 'accumulate' | 'bias' | 'tile'>, vec4 = false): KernelVariant {
  const t = call.tile ?? DEFAULT_TILE;
  const flags: string[] = [];
  if (t.rb === 8) flags.push('rb8');
  if (vec4) flags.push('vec4');
  return {
    name: 'matmul',
    source: matmulSource,
    flags,
    constants: {
      WG_X: t.wgX,
      WG_Y: t.wgY,
      TK: t.tk,
      STAGES: stagesOf(t),
      GROUP_M: t.groupM ?? 8,
      TRANS_B: call.transB ? 1 : 0,
      ACCUMULATE: call.accumulate ? 1 : 0,
      HAS_BIAS: call.bias ? 1 : 0,
    },
  };
}

/** The grid of a call: C tiles along x (columns) and y (rows), the batch along z. */
export function matmulGrid(call: Pick<MatmulCall, 'M' | 'N' | 'batch' | 'tile'>): [number, number, number] {
  const t = call.tile ?? DEFAULT_TILE;
  return [Math.max(1, Math.ceil(call.N / tileCols(t))), Math.max(1, Math.ceil(call.M / tileRows(t))), call.batch ?? 1];
}

const noBiasBuffers = new WeakMap<GpuContext, GPUBuffer>();

/** Bound where a call has no bias (WebGPU needs every binding filled): one per device, freed with it. */
function noBias(gpu: GpuContext): GPUBuffer {
  let b = noBiasBuffers.get(gpu);
  if (!b) noBiasBuffers.set(gpu, (b = createStorage(gpu, 4, 'no bias')));
  return b;
}

/**
 * Pipeline, parameters and grid of one call (`dummy`: deprecated, a buffer bound in place of a
 * missing bias; without it, the device's own). Without `call.tile`, `call.baseTile` (autotune.ts
 * chooses one by timing) or the adapter's measured default (defaultMatmulTile), fitted to the shape.
 */
export async function prepareMatmul(gpu: GpuContext, cache: PipelineCache, inputCall: MatmulCall, dummy?: GPUBuffer): Promise<PreparedDispatch> {
  const t = inputCall.tile ?? fitTileToShape(inputCall.baseTile ?? defaultMatmulTile(gpu.adapterInfo, gpu.limits), inputCall.M, inputCall.N, gpu.limits);
  const call = { ...inputCall, tile: t };
  const problem = tileProblem(t, gpu.limits);
  if (problem) throw new InputError(`${call.label}: matmul tile ${describeTile(t)}: ${problem}`);
  const batch = call.batch ?? 1;
  const lda = call.lda ?? call.K;
  const ldb = call.ldb ?? (call.transB ? call.K : call.N);
  const ldc = call.ldc ?? call.N;
  const last = (off: number | undefined, batchStride: number | undefined, rows: number, ld: number, cols: number) =>
    (off ?? 0) + (batch - 1) * (batchStride ?? 0) + Math.max(0, rows - 1) * ld + cols;
  checkIndexRange(`${call.label} A`, last(call.offA, call.batchA, call.M, lda, call.K));
  checkIndexRange(`${call.label} B`, call.transB ? last(call.offB, call.batchB, call.N, ldb, call.K) : last(call.offB, call.batchB, call.K, ldb, call.N));
  checkIndexRange(`${call.label} C`, last(call.offC, call.batchC, call.M, ldc, call.N));
  const pipeline = await cache.get(matmulVariant(call, usesVec4(call)));
  const grid = matmulGrid(call);
  checkGrid(gpu, call.label, grid);
  const uniform = createUniform(
    gpu,
    [
      { u32: call.M }, { u32: call.N }, { u32: call.K },
      { u32: lda }, { u32: ldb }, { u32: ldc },
      { u32: call.offA ?? 0 }, { u32: call.offB ?? 0 }, { u32: call.offC ?? 0 },
      { u32: call.batchA ?? 0 }, { u32: call.batchB ?? 0 }, { u32: call.batchC ?? 0 },
      { f32: call.alpha ?? 1 },
      { u32: CAUSAL_CODE[call.causal ?? 'none'] },
      { u32: call.causalOffset ?? 0 },
      { u32: call.offBias ?? 0 },
    ],
    `${call.label} params`,
  );
  const group = bindGroup(gpu, pipeline, call.label, [call.a, call.b, call.bias ?? dummy ?? noBias(gpu), call.c, uniform]);
  return { label: call.label, pipeline, bindGroup: group, grid, owned: [uniform] };
}

/** Multiply-adds of a matmul, times two: the FLOP count the benchmarks report. */
export const matmulFlops = (M: number, N: number, K: number, batch = 1): number => 2 * M * N * K * batch;
