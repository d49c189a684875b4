// Float64 CPU reference for the products every other reference op is built from (a PyTorch Linear
// layer is matmulTransB with its bias): naive loops, obviously right, slow. Row-major arrays.

/** Throws naming the operand when its length is not its shape's (`dims`, as printed). */
export function expectLength(name: string, a: ArrayLike<number>, n: number, dims: string): void {
  if (a.length !== n) throw new Error(`${name}: expected ${n} values (${dims}), got ${a.length}`);
}

/** C = A·Bᵀ (+ bias[n] on every row): A [M, K], B [N, K], C [M, N]. */
export function matmulTransB(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  bias?: ArrayLike<number>,
): Float64Array {
  expectLength('matmulTransB A', a, M * K, `[${M}, ${K}]`);
  expectLength('matmulTransB B', b, N * K, `[${N}, ${K}]`);
  if (bias) expectLength('matmulTransB bias', bias, N, `[${N}]`);
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * b[n * K + k]!;
      c[m * N + n] = s + (bias ? bias[n]! : 0);
    }
  }
  return c;
}

/** C = A·B: A [M, K], B [K, N], C [M, N]. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  expectLength('matmul A', a, M * K, `[${M}, ${K}]`);
  expectLength('matmul B', b, K * N, `[${K}, ${N}]`);
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * b[k * N + n]!;
      c[m * N + n] = s;
    }
  }
  return c;
}
