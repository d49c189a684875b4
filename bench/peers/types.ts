// Common shape of the side-by-side "peer" libraries (tfjs-backend-webgpu, onnxruntime-node's WebGPU EP, jax-js).
// A peer computes the same op as our kernels on the same inputs, so the benchmark can report both its time
// and whether its output agrees with the float64 reference: a fast wrong answer must be visible as wrong.

import { summarize } from '../../src/stats.js';

/**
 * How the peer's time was taken. 'wall-clock-drained': host wall clock from just before the op is issued
 * until the GPU queue has finished it (inputs already resident on the GPU, output left on the GPU; the drain
 * itself is included). Peers cannot be timed with our timestamp queries, so this is the common denominator.
 */
export interface PeerTiming {
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
  timing: 'wall-clock-drained';
}

/** Storage precision of a peer's inputs and outputs: 'f16' rows get f16-rounded inputs stored as float16. */
export type PeerPrecision = 'f32' | 'f16';

export interface PeerResult {
  /** Output read back once after the timed runs (from the last run), row-major; an f16 output widened exactly. */
  output: Float32Array;
  timing: PeerTiming;
}

export interface PeerRunOpts {
  /** Untimed runs first (pipeline compilation, buffer pools, autotuning). */
  warmup: number;
  /** Timed runs; the median is reported. */
  runs: number;
  /**
   * Flat output indices to return instead of the whole output (sampled verification of big outputs, so a
   * 1.6 GB softmax result is not copied to the host in full). The result's output then holds
   * output[sample[i]] at i.
   */
  sample?: Uint32Array;
  /**
   * 'f16': the inputs (already rounded to f16 values) are stored as float16 on the GPU, untimed, and the op
   * runs on float16 tensors; the output is widened to f32 after the timed runs. Default 'f32'. A peer without
   * float16 throws (the benchmark reports it as not available for the f16 rows).
   */
  precision?: PeerPrecision;
}

export interface MatmulOpts extends PeerRunOpts {
  /** false: B is [K, N], C = A·B. true: B is [N, K], C = A·Bᵀ. */
  transB: boolean;
  /** Independent products stored one after another: a [batch, M, K], b [batch, K, N] or [batch, N, K]. Default 1. */
  batch?: number;
}

export interface AttentionShape {
  heads: number;
  /** Query rows. */
  seq: number;
  /** Key/value rows. */
  kvSeq: number;
  dHead: number;
  /** Mask score (i, j) with −∞ where j > i (no offset, even when kvSeq ≠ seq). */
  causal: boolean;
}

export interface DecodeShape {
  heads: number;
  /** Cached keys and values, the new token's included. */
  nKv: number;
  dHead: number;
}

export type PeerName = 'tfjs-webgpu' | 'onnxruntime-webgpu' | 'jax-js-webgpu';

export interface Peer {
  name: PeerName;
  /** Loads the library on its WebGPU backend; throws if that backend is not available. */
  init(): Promise<void>;
  /** The adapter the peer runs on, for the report (e.g. "mesa llvmpipe …"). */
  adapterDescription(): string;
  /** a: [M, K]; b: [K, N] or, with transB, [N, K]; output C: [M, N] (each with a leading [batch] when opts.batch > 1). */
  matmul(a: Float32Array, b: Float32Array, M: number, N: number, K: number, opts: MatmulOpts): Promise<PeerResult>;
  /** Row-wise softmax of x: [rows, cols]. */
  softmax?(x: Float32Array, rows: number, cols: number, opts: PeerRunOpts): Promise<PeerResult>;
  /**
   * q: [seq, heads·dHead]; k, v: [kvSeq, heads·dHead]; output [seq, heads·dHead] where head h is
   * softmax(q_h k_hᵀ / √dHead, causal mask) v_h.
   */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape, opts: PeerRunOpts): Promise<PeerResult>;
  /**
   * One decode step where the library has an op for it (ORT: MultiHeadAttention with past key/value):
   * q [heads·dHead]; k, v [nKv, heads·dHead], the last row the new token's; output [heads·dHead].
   * Without it the benchmark calls attention() with a one-row query.
   */
  decode?(q: Float32Array, k: Float32Array, v: Float32Array, shape: DecodeShape, opts: PeerRunOpts): Promise<PeerResult>;
  /** Frees GPU resources; the peer must not be used afterwards. */
  dispose(): Promise<void>;
}

/**
 * A peer cannot run this op here, for a stated reason (a missing runtime feature, no float16): reported as
 * "not available" with the message, never as a time and never as a failure of the op.
 */
export class PeerUnavailableError extends Error {
  override name = 'PeerUnavailableError';
}

/** The elements of `output` at `sample` (all of it without a sample). */
export function pick(output: ArrayLike<number>, sample: Uint32Array | undefined): Float32Array {
  if (!sample) return Float32Array.from(output);
  const out = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) out[i] = output[sample[i]!]!;
  return out;
}

/** Median/min/max of per-run milliseconds (src/stats.ts). */
export function summarizeTimings(samplesMs: readonly number[]): PeerTiming {
  const { medianMs, minMs, maxMs, samples } = summarize(samplesMs);
  return { medianMs, minMs, maxMs, samples, timing: 'wall-clock-drained' };
}
