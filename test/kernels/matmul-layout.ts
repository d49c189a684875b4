// What the matmul tests (f32 and f16) share: a call's layout with every default filled in, and the
// float64 reference of one batch entry from the host arrays, with Σ|a·b| for the allowance.
import type { MatmulCall } from '../../src/kernels/matmul.js';
import { matmul as refMatmul, matmulTransB as refMatmulTransB } from '../../src/reference/attention.js';

type Shape = Pick<MatmulCall, 'M' | 'N' | 'K' | 'transB' | 'batch' | 'lda' | 'ldb' | 'ldc' | 'offA' | 'offB' | 'offC' | 'offBias' | 'batchA' | 'batchB' | 'batchC'>;

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
