// Host side of shaders/matvec.wgsl: the one-row products of a decode step. prepareMatmul
// (./matmul.ts) runs a call here when it has one row of A, no batch, no causal mode, B as a
// Linear weight [N, K] and no tile given: a 16-row matmul tile would compute 15 rows of padding
// (lavapipe's 16×16 shuffle tile is never narrowed), where this reads each weight once. Same
// bindings, parameters and epilogue as the matmul kernels, so the caller sees no difference.

import matvecSource from '../../shaders/matvec.wgsl';
import matmulParamsSource from '../../shaders/matmul_params.wgsl';
import type { GpuContext } from '../gpu/device.js';
import { withShared, type SharedWgsl } from '../gpu/preprocess.js';
import type { KernelVariant } from '../gpu/pipelines.js';
import { fold1D } from '../gpu/dispatch.js';

/** Outputs a workgroup computes (ROWS in the shader). */
export const MATVEC_ROWS = 8;
/**
 * Threads a workgroup (a power of 2, for the tree). Software adapters: 8, one SIMD vector of
 * lavapipe, so the tree has 3 barriers and each switches no vectors (with 64 threads a one-off
 * timing of a 3072×768 product on lavapipe was several times slower; not kept as a benchmark).
 * Hardware: 64, two warps sharing a row's reads (not measured on a GPU).
 */
export const matvecThreads = (software: boolean): number => (software ? 8 : 64);

const PARAMS: SharedWgsl = { file: 'matmul_params.wgsl', text: matmulParamsSource };

export interface MatvecShape {
  M: number;
  batch?: number;
  transB: boolean;
  causal?: string;
  tile?: unknown;
}

/** Whether prepareMatmul runs this call as a matrix-vector product. */
export const isMatvec = (call: MatvecShape): boolean =>
  call.M === 1 && (call.batch ?? 1) === 1 && call.transB && (call.causal ?? 'none') === 'none' && call.tile === undefined;

export function matvecVariant(gpu: GpuContext, flags: string[], act: Record<string, number>): KernelVariant {
  return { name: 'matvec', source: withShared(matvecSource, PARAMS), flags, constants: { WG: matvecThreads(gpu.adapterInfo.isSoftware), ...act } };
}

/** Groups of MATVEC_ROWS outputs, folded over x and y past maxComputeWorkgroupsPerDimension. */
export function matvecGrid(gpu: GpuContext, N: number): [number, number, number] {
  const { x, y } = fold1D(Math.max(1, Math.ceil(N / MATVEC_ROWS)), gpu.limits.maxComputeWorkgroupsPerDimension);
  return [x, y, 1];
}
