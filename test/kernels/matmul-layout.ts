// What the matmul tests (f32 and f16) share: a call's layout with every default filled in, the
// causal pattern's zeros, the float64 reference of one batch entry from the host arrays with
// Σ|a·b| for the allowance, every expected element of C, the stray-write scan, and the tile
// helpers (scalar loads, whether vec4 applies).
import { isShuffle, type MatmulCall, type MatmulTile } from '../../src/kernels/matmul.js';
import { matmul as refMatmul, matmulTransB as refMatmulTransB } from '../../src/reference/attention.js';

type Shape = Pick<MatmulCall, 'M' | 'N' | 'K' | 'transB' | 'batch' | 'lda' | 'ldb' | 'ldc' | 'offA' | 'offB' | 'offC' | 'offBias' | 'batchA' | 'batchB' | 'batchC'>;
type Epilogue = Pick<MatmulCall, 'alpha' | 'accumulate' | 'causal' | 'causalOffset'>;

/** Strides, offsets and batch strides of a call as the kernel reads them (the defaults of MatmulCall). */
export function matmulLayout(c: Shape) {
  const batch = c.batch ?? 1;
  const lda = c.lda ?? c.K;
  const ldb = c.ldb ?? (c.transB ? c.K : c.N);
  const ldc = c.ldc ?? c.N;
  const [offA, offB, offC, offBias] = [c.offA ?? 0, c.offB ?? 0, c.offC ?? 0, c.offBias ?? 0];
  const batchA = c.batchA ?? (batch > 1 ? c.M * lda : 0);
  const batchB = c.batchB ?? (batch > 1 ? (c.transB ? c.N : c.K) * ldb : 0);
  const batchC = c.batchC ?? c.M * ldc;
  /** One past the last element a strided operand of `rows` × `cols` reaches over the batch. */
  const extent = (off: number, bs: number, rows: number, ld: number, cols: number) => off + (batch - 1) * bs + (rows - 1) * ld + cols;
  return { batch, lda, ldb, ldc, offA, offB, offC, offBias, batchA, batchB, batchC, extent };
}

/** A·op(B) of batch entry `z` in float64 from the strided host arrays, and Σ|a·b| per element. */
export function referenceProduct(c: Shape, layout: ReturnType<typeof matmulLayout>, aHost: Float32Array, bHost: Float32Array, z: number) {
  const { lda, ldb, offA, offB, batchA, batchB } = layout;
  const aDense = new Float64Array(c.M * c.K);
  const bDense = new Float64Array(c.N * c.K);
  for (let m = 0; m < c.M; m++) for (let k = 0; k < c.K; k++) aDense[m * c.K + k] = aHost[offA + z * batchA + m * lda + k]!;
  for (let n = 0; n < c.N; n++) {
    for (let k = 0; k < c.K; k++) {
      // transB: B [N, K]; else B [K, N]. Both stored densely here in the reference's own layout.
      if (c.transB) bDense[n * c.K + k] = bHost[offB + z * batchB + n * ldb + k]!;
      else bDense[k * c.N + n] = bHost[offB + z * batchB + k * ldb + n]!;
    }
  }
  const mm = (x: Float64Array, y: Float64Array) => (c.transB ? refMatmulTransB(x, y, c.M, c.N, c.K) : refMatmul(x, y, c.M, c.N, c.K));
  return { ref: mm(aDense, bDense), scale: mm(aDense.map(Math.abs), bDense.map(Math.abs)) };
}

/** 'limit-k' multiplies a causal pattern: A is zero past each row's limit (the kernel relies on it). */
export function zeroPastDiagonal(c: Shape & Epilogue, layout: ReturnType<typeof matmulLayout>, aHost: Float32Array): void {
  if (c.causal !== 'limit-k') return;
  const { batch, offA, batchA, lda } = layout;
  const offset = c.causalOffset ?? 0;
  for (let z = 0; z < batch; z++) {
    for (let m = 0; m < c.M; m++) for (let k = m + offset + 1; k < c.K; k++) aHost[offA + z * batchA + m * lda + k] = 0;
  }
}

export interface ExpectedElement {
  /** Index in C's buffer, and where that is. */
  at: number;
  z: number;
  m: number;
  n: number;
  /** A score the 'skip-masked-tiles' mode may leave unwritten (col > row + offset): anything goes. */
  masked: boolean;
  /** alpha·(A·op(B)) + bias + C₀ in float64. */
  want: number;
  /**
   * fp32's allowance: 1e-5·(|alpha|·Σ|a·b| + |bias| + |C₀|) + 1e-6. fp32 rounds each of the
   * K ≤ 130 steps by 2⁻²⁴ ≈ 6e-8 of the running sum, so the worst case is K·6e-8·Σ|a·b| ≈
   * 8e-6·Σ|a·b|; a single missing or doubled product (≥ 0.8 % of it) exceeds it.
   */
  allowance: number;
}

/** Every element of C's [M, N] windows over the batch, with the value it must hold. */
export function* expectedC(c: Shape & Epilogue, layout: ReturnType<typeof matmulLayout>, aHost: Float32Array, bHost: Float32Array,
  c0: Float32Array, biasHost: Float32Array | null): Generator<ExpectedElement> {
  const { batch, offC, batchC, ldc, offBias } = layout;
  const alpha = c.alpha ?? 1;
  const offset = c.causalOffset ?? 0;
  for (let z = 0; z < batch; z++) {
    const { ref, scale } = referenceProduct(c, layout, aHost, bHost, z);
    for (let m = 0; m < c.M; m++) {
      for (let n = 0; n < c.N; n++) {
        const at = offC + z * batchC + m * ldc + n;
        const bias = biasHost ? biasHost[offBias + n]! : 0;
        const start = c.accumulate ? c0[at]! : 0;
        yield {
          at, z, m, n,
          masked: c.causal === 'skip-masked-tiles' && n > m + offset,
          want: alpha * ref[m * c.N + n]! + bias + start,
          allowance: 1e-5 * (Math.abs(alpha) * scale[m * c.N + n]! + Math.abs(bias) + Math.abs(start)) + 1e-6,
        };
      }
    }
  }
}

/** The first element outside every C window (`written` 0) whose value changed from `c0` bit for bit, or -1. */
export function strayWrite(out: Float32Array, c0: Float32Array, written: Uint8Array): number {
  for (let i = 0; i < out.length; i++) {
    if (!written[i] && !(Object.is(out[i], c0[i]) || (Number.isNaN(out[i]!) && Number.isNaN(c0[i]!)))) return i;
  }
  return -1;
}

/** The config with scalar loads (a shuffle tile has no vec4 variant: itself). */
export const scalar = (t: MatmulTile): MatmulTile => (isShuffle(t) ? t : { ...t, vec4: false });

/** Whether a call of this config with vec4-aligned operands runs the vec4 variant. */
export const vec4If = (t: MatmulTile, aligned: boolean): boolean => aligned && !isShuffle(t) && t.vec4 !== false;
