// Host side of shaders/matmul.wgsl: the call (shapes, strides, storage precisions), the vec4-load
// choice, parameter packing, grid. Tile configs live in matmul-tiles.ts (re-exported here).

import matmulSource from '../../shaders/matmul.wgsl';
import matmulShuffleSource from '../../shaders/matmul_shuffle.wgsl';
import matmulParamsSource from '../../shaders/matmul_params.wgsl';
import { withShared } from '../gpu/preprocess.js';
import { isMatvec, matvecGrid, matvecVariant } from './matvec.js';
import { createStorage, createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { KernelVariant, PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, checkGrid, checkIndexRange, type Binding, type PreparedDispatch } from '../gpu/dispatch.js';
import { DEFAULT_TILE, defaultMatmulTile, describeTile, fitTileToShape, isShuffle, stagesOf, tileCaps, tileCols, tileProblem, tileRows, type MatmulTile } from './matmul-tiles.js';
import { bytesPer, checkPrecision, requireF16, type Precision } from '../gpu/precision.js';

/** Params and the tile K range both matmul kernels read (shaders/matmul_params.wgsl), appended to each. */
const MATMUL_PARAMS = { file: 'matmul_params.wgsl', text: matmulParamsSource };

export * from './matmul-tiles.js';
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
  /**
   * Storage of each operand (default all f32); sums are f32 whatever they are. Strides and
   * offsets above stay in elements; binding offsets and sizes in bytes (2 per f16 element).
   */
  types?: MatmulTypes;
  /** Applied to each element after the bias, before it is stored or added to C (the MLP's first product). */
  activation?: Activation;
}

/** The epilogue's activation: 'gelu_new' (GPT-2's tanh form) or 'relu'; none when absent. */
export type Activation = 'gelu_new' | 'relu';
/** ACT override codes of shaders/matmul_params.wgsl. */
export const ACTIVATION_CODE: Record<Activation, number> = { gelu_new: 1, relu: 2 };

export interface MatmulTypes {
  a?: Precision;
  b?: Precision;
  bias?: Precision;
  c?: Precision;
}

const bindingBytes = (b: Binding): number => b.size ?? b.buffer.size - (b.offset ?? 0);

/**
 * Whether A and B can be read as vec4: every row of A (and of B, along K with TRANS_B or along N
 * without) starts at a multiple of 4 elements in every batch, and each binding starts on a
 * 16-byte boundary and ends on a vec4 word (16 bytes; 8 for vec4<f16>), so a vec4 holding any
 * wanted element lies inside the binding.
 */
export function vec4Aligned(call: MatmulCall): boolean {
  const batched = (call.batch ?? 1) > 1;
  const operand = (binding: Binding, ld: number, off: number, batchStride: number, p: Precision | undefined) =>
    ld % 4 === 0 && off % 4 === 0 && (!batched || batchStride % 4 === 0) && (binding.offset ?? 0) % 16 === 0 &&
    bindingBytes(binding) % (4 * bytesPer(p)) === 0;
  return (
    operand(call.a, call.lda ?? call.K, call.offA ?? 0, call.batchA ?? 0, call.types?.a) &&
    operand(call.b, call.ldb ?? (call.transB ? call.K : call.N), call.offB ?? 0, call.batchB ?? 0, call.types?.b)
  );
}

/** The preprocessor flags of a call's storage types: a16, b16, bias16 (only with a bias), c16, and f16 for any. */
export function typeFlags(call: Pick<MatmulCall, 'types' | 'bias'>): string[] {
  const t = call.types ?? {};
  const flags = [t.a === 'f16' && 'a16', t.b === 'f16' && 'b16', call.bias && t.bias === 'f16' && 'bias16', t.c === 'f16' && 'c16'].filter((f): f is string => !!f);
  return flags.length ? ['f16', ...flags] : [];
}

/** Whether this call runs the vec4 variant: a tiled config that allows it, and the call is aligned. */
export const usesVec4 = (call: MatmulCall): boolean => {
  const t = call.tile ?? DEFAULT_TILE;
  return !isShuffle(t) && t.vec4 !== false && vec4Aligned(call);
};

export function matmulVariant(call: Pick<MatmulCall, 'transB' | 'bias' | 'tile' | 'types' | 'activation'>, vec4 = false): KernelVariant {
  const t = call.tile ?? DEFAULT_TILE;
  const flags: string[] = typeFlags(call);
  // Only set when there is one, so every other product keeps its pipeline (and cache key).
  const act: Record<string, number> = call.activation ? { ACT: ACTIVATION_CODE[call.activation] } : {};
  if (isShuffle(t)) {
    return { name: 'matmul_shuffle', source: withShared(matmulShuffleSource, MATMUL_PARAMS), flags, constants: { TRANS_B: call.transB ? 1 : 0, ...act } };
  }
  if (t.rb === 8) flags.push('rb8');
  if (vec4) flags.push('vec4');
  return {
    name: 'matmul',
    source: withShared(matmulSource, MATMUL_PARAMS),
    flags,
    constants: {
      WG_X: t.wgX,
      WG_Y: t.wgY,
      TK: t.tk,
      STAGES: stagesOf(t),
      GROUP_M: t.groupM ?? 8,
      TRANS_B: call.transB ? 1 : 0,
      ...act,
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
 * Pipeline, parameters and grid of one call (a call without a bias binds the device's own 4-byte
 * stand-in: WebGPU needs every binding filled). Without `call.tile`, `call.baseTile` (src/tune/matmul.ts
 * chooses one by timing) or the adapter's measured default (defaultMatmulTile), fitted to the shape.
 */
export async function prepareMatmul(gpu: GpuContext, cache: PipelineCache, inputCall: MatmulCall): Promise<PreparedDispatch> {
  const caps = tileCaps(gpu);
  const t = inputCall.tile ?? fitTileToShape(inputCall.baseTile ?? defaultMatmulTile(gpu.adapterInfo, gpu.limits, caps), inputCall.M, inputCall.N, gpu.limits);
  const call = { ...inputCall, tile: t };
  const problem = tileProblem(t, gpu.limits, caps);
  if (problem) throw new InputError(`${call.label}: matmul tile ${describeTile(t)}: ${problem}`);
  for (const operand of ['a', 'b', 'bias', 'c'] as const) checkPrecision(call.types?.[operand], `${call.label} ${operand}`);
  if (typeFlags(call).length) requireF16(gpu, call.label);
  const batch = call.batch ?? 1;
  const lda = call.lda ?? call.K;
  const ldb = call.ldb ?? (call.transB ? call.K : call.N);
  const ldc = call.ldc ?? call.N;
  const last = (off: number | undefined, batchStride: number | undefined, rows: number, ld: number, cols: number) =>
    (off ?? 0) + (batch - 1) * (batchStride ?? 0) + Math.max(0, rows - 1) * ld + cols;
  checkIndexRange(`${call.label} A`, last(call.offA, call.batchA, call.M, lda, call.K));
  checkIndexRange(`${call.label} B`, call.transB ? last(call.offB, call.batchB, call.N, ldb, call.K) : last(call.offB, call.batchB, call.K, ldb, call.N));
  checkIndexRange(`${call.label} C`, last(call.offC, call.batchC, call.M, ldc, call.N));
  // One row of A (a decode step's products, a model's logits): the matrix-vector kernel, which reads
  // each weight once instead of computing a 16-row tile of padding (./matvec.ts). Not with a given tile.
  const oneRow = isMatvec(inputCall);
  const act: Record<string, number> = call.activation ? { ACT: ACTIVATION_CODE[call.activation] } : {};
  const pipeline = await cache.get(oneRow ? matvecVariant(gpu, [...typeFlags(call), ...(vec4Aligned(call) ? ['vec4'] : [])], act) : matmulVariant(call, usesVec4(call)));
  const grid = oneRow ? matvecGrid(gpu, call.N) : matmulGrid(call);
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
      { u32: call.accumulate ? 1 : 0 },
      { u32: call.bias ? 1 : 0 },
    ],
    `${call.label} params`,
  );
  const group = bindGroup(gpu, pipeline, call.label, [call.a, call.b, call.bias ?? noBias(gpu), call.c, uniform]);
  return { label: call.label, pipeline, bindGroup: group, grid, owned: [uniform] };
}

/** Multiply-adds of a matmul, times two: the FLOP count the benchmarks report. */
export const matmulFlops = (M: number, N: number, K: number, batch = 1): number => 2 * M * N * K * batch;
