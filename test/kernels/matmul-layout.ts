// What the matmul tests (f32 and f16) share: a call's layout with every default filled in, the
// causal pattern's zeros, the float64 reference of one batch entry from the host arrays with
// ‖a‖·‖b‖ for the allowance, every expected element of C with its allowance (src/verify/tolerance.ts), the
// stray-write scan, and the tile helpers (scalar loads, whether vec4 applies).
import { isShuffle, type MatmulCall, type MatmulTile } from '../../src/kernels/matmul.js';
import { matmul as refMatmul, matmulTransB as refMatmulTransB } from '../../src/reference/attention.js';
import { BOUND_LAMBDA, matmulElementError } from '../../src/verify/tolerance.js';

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

/** A·op(B) of batch entry `z` in float64 from the strided host arrays, and ‖a‖·‖b‖ per element (its row of A, column of op(B)). */
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
  const norm = (at: (k: number) => number) => {
    let s = 0;
    for (let k = 0; k < c.K; k++) s += at(k) ** 2;
    return Math.sqrt(s);
  };
  const aNorm = Array.from({ length: c.M }, (_, m) => norm((k) => aDense[m * c.K + k]!));
  const bNorm = Array.from({ length: c.N }, (_, n) => norm((k) => (c.transB ? bDense[n * c.K + k]! : bDense[k * c.N + n]!)));
  const normProduct = Float64Array.from({ length: c.M * c.N }, (_, i) => aNorm[Math.floor(i / c.N)]! * bNorm[i % c.N]!);
  return { ref: mm(aDense, bDense), normProduct };
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
  /** The f32 result's allowance: λ·e of the element (src/verify/tolerance.ts matmulElementError). */
  allowance: number;
}

/** Every element of C's [M, N] windows over the batch, with the value it must hold. */
export function* expectedC(c: Shape & Epilogue, layout: ReturnType<typeof matmulLayout>, aHost: Float32Array, bHost: Float32Array,
  c0: Float32Array, biasHost: Float32Array | null): Generator<ExpectedElement> {
  const { batch, offC, batchC, ldc, offBias } = layout;
  const alpha = c.alpha ?? 1;
  const offset = c.causalOffset ?? 0;
  for (let z = 0; z < batch; z++) {
    const { ref, normProduct } = referenceProduct(c, layout, aHost, bHost, z);
    for (let m = 0; m < c.M; m++) {
      for (let n = 0; n < c.N; n++) {
        const at = offC + z * batchC + m * ldc + n;
        const bias = biasHost ? biasHost[offBias + n]! : 0;
        const start = c.accumulate ? c0[at]! : 0;
        yield {
          at, z, m, n,
          masked: c.causal === 'skip-masked-tiles' && n > m + offset,
          want: alpha * ref[m * c.N + n]! + bias + start,
          allowance: BOUND_LAMBDA * matmulElementError({ normProduct: normProduct[m * c.N + n]!, K: c.K, dot: ref[m * c.N + n]!, alpha, bias, start }),
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
