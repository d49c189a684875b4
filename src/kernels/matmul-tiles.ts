// Tile configurations of the two matmul kernels: shaders/matmul.wgsl (workgroup tiles, `TiledTile`)
// and shaders/matmul_shuffle.wgsl (one subgroup a workgroup, `ShuffleTile`): the shapes, their limits
// (the shaders' preconditions and the adapter's), the measured per-adapter defaults and the fit to a
// shape. No GPU work here (the constants and tile tests run without one).

import type { AdapterDescription, GpuContext } from '../gpu/device.js';

export type MatmulTile = TiledTile | ShuffleTile;

/**
 * shaders/matmul_shuffle.wgsl: a workgroup is one subgroup of SHUFFLE_LANES threads computing a
 * SHUFFLE_ROWS × SHUFFLE_COLS tile of C, A shared through subgroupShuffle instead of workgroup
 * memory. Its shape is fixed (the shader's consts); the win is on CPU adapters, where every
 * workgroup-memory read is a gather (bench/RESULTS.md).
 */
export interface ShuffleTile {
  kernel: 'shuffle';
}

/** Mirrors S, RM and S·RN in shaders/matmul_shuffle.wgsl. */
export const SHUFFLE_LANES = 8;
export const SHUFFLE_ROWS = 16;
export const SHUFFLE_COLS = 16;

export const isShuffle = (t: MatmulTile): t is ShuffleTile => t.kernel === 'shuffle';

/** What a shuffle tile needs beyond the limits: the subgroups feature and subgroups of at least SHUFFLE_LANES. */
export interface TileCaps {
  subgroups: boolean;
  /** The adapter's smallest subgroup (0: not reported). */
  subgroupMinSize: number;
}

export const tileCaps = (gpu: Pick<GpuContext, 'hasSubgroups' | 'adapterInfo'>): TileCaps => ({
  subgroups: gpu.hasSubgroups,
  subgroupMinSize: gpu.adapterInfo.subgroupMinSize,
});

/** shaders/matmul.wgsl: workgroup tiles staged through workgroup memory. */
export interface TiledTile {
  kernel?: 'tiled';
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
 * src/tune/matmul.ts times candidates instead.
 */
export const DEFAULT_TILE: Readonly<TiledTile> = Object.freeze({ wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 });

export interface AdapterDefaults {
  /** Matched against "vendor architecture device description" of the adapter. */
  match: RegExp;
  label: string;
  /** Best first; the first that fits the adapter's limits is its default. */
  tiles: MatmulTile[];
}

/**
 * Configs measured on real adapters with bench/tune/matmul.ts (figures and their provenance in
 * bench/RESULTS.md, "Where the shipped defaults come from"). NVIDIA: 128×128 tiles double-buffered
 * with K steps of 8; K steps of 16 or more need 33 KiB of tiles, one workgroup per multiprocessor.
 * lavapipe: the shuffle kernel (2.3–2.6× the tiled kernel's rate there: no gathers from workgroup
 * memory, no barriers), where the adapter offers subgroups of 8; otherwise 128×128 tiles,
 * single-buffered (each invocation costs CPU time; fewer, larger tiles win), K steps of 16 (half
 * the barriers of 8: each barrier switches every SIMD-8 group of invocations out and back in);
 * K steps of 8 where 16.5 KiB of tiles do not fit.
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
    tiles: [
      { kernel: 'shuffle' },
      { wgX: 16, wgY: 16, tk: 16, rb: 8, stages: 1, vec4: true, groupM: 8 },
      { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 },
    ],
  },
];

/**
 * For adapters without measurements, the first that fits: the H100's choice (16.5 KiB of tiles),
 * the default (WebGPU's default limits), then compatibility-mode limits (128 invocations), then
 * 64 invocations.
 */
export const FALLBACK_TILES: readonly TiledTile[] = [
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2, vec4: true, groupM: 8 },
  DEFAULT_TILE,
  { wgX: 16, wgY: 8, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 },
  { wgX: 8, wgY: 8, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 },
  { wgX: 8, wgY: 8, tk: 8, rb: 4, stages: 1, vec4: true, groupM: 8 },
];

/** Registers per operand for the next K step: mirrors MAX_STAGED in shaders/matmul.wgsl. */
export const MAX_STAGED = 8;

export const tileRows = (t: MatmulTile): number => (isShuffle(t) ? SHUFFLE_ROWS : t.wgY * t.rb);
export const tileCols = (t: MatmulTile): number => (isShuffle(t) ? SHUFFLE_COLS : t.wgX * t.rb);
export const stagesOf = (t: TiledTile): number => t.stages ?? 2;

/** Workgroup storage of a tile config in bytes: k-major vec4 rows, each padded by one vec4 (none for shuffle tiles). */
export function tileStorageBytes(t: MatmulTile): number {
  if (isShuffle(t)) return 0;
  const rowA = (t.wgY * t.rb) / 4 + 1;
  const rowB = (t.wgX * t.rb) / 4 + 1;
  return stagesOf(t) * t.tk * (rowA + rowB) * 16;
}

export const tileThreads = (t: MatmulTile): number => (isShuffle(t) ? SHUFFLE_LANES : t.wgX * t.wgY);

export const describeTile = (t: MatmulTile): string =>
  isShuffle(t)
    ? `${SHUFFLE_ROWS}x${SHUFFLE_COLS} shuffle sg${SHUFFLE_LANES}`
    : `${tileRows(t)}x${tileCols(t)} wg${t.wgX}x${t.wgY} rb${t.rb} tk${t.tk} s${stagesOf(t)} g${t.groupM ?? 8}${t.vec4 === false ? ' scalar' : ' vec4'}`;

export type TileLimits = Pick<
  GPUSupportedLimits,
  'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupSizeY' | 'maxComputeWorkgroupStorageSize'
>;

/**
 * Why a tile config cannot run (shader preconditions or the adapter's limits), or null when it can.
 * A shuffle tile also needs `caps` (tileCaps(gpu)); without them it is refused.
 */
export function tileProblem(t: MatmulTile, limits: TileLimits, caps?: TileCaps): string | null {
  if (isShuffle(t)) {
    if (!caps?.subgroups) return `the shuffle kernel needs the subgroups feature${caps ? ', which this adapter lacks' : ' (adapter capabilities not given)'}`;
    if (caps.subgroupMinSize < SHUFFLE_LANES) {
      return `the shuffle kernel needs subgroups of at least ${SHUFFLE_LANES} invocations; this adapter's smallest is ${caps.subgroupMinSize || 'not reported'}`;
    }
    if (SHUFFLE_LANES > limits.maxComputeInvocationsPerWorkgroup || SHUFFLE_LANES > limits.maxComputeWorkgroupSizeX) {
      return `${SHUFFLE_LANES} invocations exceed the adapter's workgroup limits`;
    }
    return null;
  }
  if (t.kernel !== undefined && t.kernel !== 'tiled') return `kernel ${JSON.stringify(t.kernel)} must be 'tiled' or 'shuffle'`;
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

/** The measured default for this adapter (given its `caps`), or the largest fallback that fits its limits. */
export function defaultMatmulTile(
  adapter: Pick<AdapterDescription, 'vendor' | 'architecture' | 'device' | 'description'>,
  limits: TileLimits,
  caps?: TileCaps,
): MatmulTile {
  const all = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].join(' ');
  const known = ADAPTER_DEFAULTS.find((d) => d.match.test(all));
  const fits = [...(known?.tiles ?? []), ...FALLBACK_TILES].find((t) => tileProblem(t, limits, caps) === null);
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
  // A shuffle tile is 16×16 already: at most 15 padded rows or columns.
  if (isShuffle(base)) return base;
  const padded = (t: MatmulTile) => Math.ceil(M / tileRows(t)) * tileRows(t) * Math.ceil(N / tileCols(t)) * tileCols(t);
  let t: TiledTile = base;
  for (;;) {
    // Halving a side may leave a K step whose loads no longer divide among the threads: the same
    // halving with the K step halved (not below 8) is a candidate too.
    const halves: TiledTile[] = [{ ...t, wgY: t.wgY / 2 }, { ...t, wgX: t.wgX / 2 }];
    const smaller = [...halves, ...halves.filter((c) => c.tk > 8).map((c) => ({ ...c, tk: c.tk / 2 }))].filter(
      (c) => Number.isInteger(c.wgX) && Number.isInteger(c.wgY) && tileThreads(c) >= Math.min(MIN_FITTED_THREADS, tileThreads(base)) &&
        padded(c) < padded(t) && tileProblem(c, limits) === null,
    );
    if (smaller.length === 0) return shortenK(t, base, limits);
    t = smaller.reduce((x, y) => (padded(y) < padded(x) ? y : x));
  }
}

/** Tile elements (A's and B's) each thread loads per K step. */
const loadsPerThread = (t: TiledTile): number => ((tileRows(t) + tileCols(t)) * t.tk) / tileThreads(t);

/**
 * A fitted tile has fewer threads to share its K step's loads: the K step is halved, down to 8
 * (the shortest of the shipped configs), while each thread would load more per step than in the
 * base tile. Measured on lavapipe (bench/RESULTS.md): GPT-3's 16-row projections with the base
 * tile's K step of 16 took 11.6 s a layer against 7.7 s with 8.
 */
function shortenK(t: TiledTile, base: TiledTile, limits: TileLimits): TiledTile {
  let k = t;
  while (k.tk > 8 && loadsPerThread(k) > loadsPerThread(base)) {
    const shorter = { ...k, tk: k.tk / 2 };
    if (tileProblem(shorter, limits) !== null) break;
    k = shorter;
  }
  return k;
}

/** defaultMatmulTile for a device: its adapter, limits and subgroup capabilities. */
export const defaultTileFor = (gpu: Pick<GpuContext, 'hasSubgroups' | 'adapterInfo' | 'limits'>): MatmulTile =>
  defaultMatmulTile(gpu.adapterInfo, gpu.limits, tileCaps(gpu));
