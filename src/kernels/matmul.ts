// Host side of shaders/matmul.wgsl: tile configuration, parameter packing, grid.

import matmulSource from '../../shaders/matmul.wgsl';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import type { KernelVariant, PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, checkGrid, type Binding, type PreparedDispatch } from './dispatch.js';

export interface MatmulTile {
  wgX: number;
  wgY: number;
  tk: number;
  /** Register block per thread: 4 (4×4) or 8 (8×8). */
  rb: 4 | 8;
}

/** A safe default on every adapter: 256 threads, 64×64 tiles, 8 KiB of workgroup memory. */
export const DEFAULT_TILE: MatmulTile = { wgX: 16, wgY: 16, tk: 16, rb: 4 };

export const tileRows = (t: MatmulTile): number => t.wgY * t.rb;
export const tileCols = (t: MatmulTile): number => t.wgX * t.rb;

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
  tile?: MatmulTile;
}

export function matmulVariant(call: Pick<MatmulCall, 'transB' | 'accumulate' | 'bias' | 'tile'>): KernelVariant {
  const t = call.tile ?? DEFAULT_TILE;
  return {
    name: 'matmul',
    source: matmulSource,
    flags: t.rb === 8 ? ['rb8'] : [],
    constants: {
      WG_X: t.wgX,
      WG_Y: t.wgY,
      TK: t.tk,
      TRANS_B: call.transB ? 1 : 0,
      ACCUMULATE: call.accumulate ? 1 : 0,
      HAS_BIAS: call.bias ? 1 : 0,
    },
  };
}

export async function prepareMatmul(gpu: GpuContext, cache: PipelineCache, call: MatmulCall, dummy: GPUBuffer): Promise<PreparedDispatch> {
  const t = call.tile ?? DEFAULT_TILE;
  const pipeline = await cache.get(matmulVariant(call));
  const batch = call.batch ?? 1;
  const grid: [number, number, number] = [Math.ceil(call.N / tileCols(t)), Math.ceil(call.M / tileRows(t)), batch];
  checkGrid(gpu, call.label, grid);
  const uniform = createUniform(
    gpu,
    [
      { u32: call.M }, { u32: call.N }, { u32: call.K },
      { u32: call.lda ?? call.K }, { u32: call.ldb ?? (call.transB ? call.K : call.N) }, { u32: call.ldc ?? call.N },
      { u32: call.offA ?? 0 }, { u32: call.offB ?? 0 }, { u32: call.offC ?? 0 },
      { u32: call.batchA ?? 0 }, { u32: call.batchB ?? 0 }, { u32: call.batchC ?? 0 },
      { f32: call.alpha ?? 1 },
      { u32: CAUSAL_CODE[call.causal ?? 'none'] },
      { u32: call.causalOffset ?? 0 },
      { u32: call.offBias ?? 0 },
    ],
    `${call.label} params`,
  );
  const group = bindGroup(gpu, pipeline, call.label, [call.a, call.b, call.bias ?? dummy, call.c, uniform]);
  return { label: call.label, pipeline, bindGroup: group, grid, owned: [uniform] };
}

/** Multiply-adds of a matmul, times two: the FLOP count the benchmarks report. */
export const matmulFlops = (M: number, N: number, K: number, batch = 1): number => 2 * M * N * K * batch;
