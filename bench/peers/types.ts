// Common shape of the side-by-side "peer" libraries (tfjs-backend-webgpu, onnxruntime-node's WebGPU EP).
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

export interface PeerResult {
  /** Output read back once after the timed runs (from the last run), row-major. */
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
  contextSeq: number;
  dHead: number;
  /** Mask score (i, j) with −∞ where j > i (no offset, even when contextSeq ≠ seq). */
  causal: boolean;
}

export type PeerName = 'tfjs-webgpu' | 'onnxruntime-webgpu';

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
   * q: [seq, heads·dHead]; k, v: [contextSeq, heads·dHead]; output [seq, heads·dHead] where head h is
   * softmax(q_h k_hᵀ / √dHead, causal mask) v_h.
   */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape, opts: PeerRunOpts): Promise<PeerResult>;
  /** Frees GPU resources; the peer must not be used afterwards. */
  dispose(): Promise<void>;
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
