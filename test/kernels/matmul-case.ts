// One matmul test case on the GPU, what the f32 and f16 matmul tests share: fresh seeded inputs
// (rounded to f16 where a binding stores f16), C poisoned unless it accumulates, the call run, and
// every element of C checked against the float64 reference (matmul-layout.ts) with its allowance,
// plus the stray-write scan.
import type { GpuContext } from '../../src/gpu/device.js';
import type { PipelineCache } from '../../src/gpu/pipelines.js';
import { poison, readBack, upload } from '../../src/gpu/buffers.js';
import { roundArrayToF16 } from '../../src/io/half.js';
import { describeTile, prepareMatmul, usesVec4, type MatmulCall, type MatmulTile, type MatmulTypes } from '../../src/kernels/matmul.js';
import { f16Stored } from '../../src/verify/tolerance.js';
import { rng, runDispatch } from '../helpers/gpu.js';
import { expectedC, matmulLayout, strayWrite, zeroPastDiagonal } from './matmul-layout.js';

/** A call without its buffers: the test makes them (bias: whether to bind one). */
export interface MatmulCase extends Omit<MatmulCall, 'label' | 'a' | 'b' | 'c' | 'bias' | 'tile' | 'baseTile' | 'types'> {
  tile: MatmulTile;
  /** Storage of each binding (f32 where absent). */
  types?: MatmulTypes;
  bias?: boolean;
  /** Whether the call must run the vec4 variant (checked, so a test of it cannot silently run scalar). */
  vec4: boolean;
  /** Planted: the GPU reads B this many elements late (the reference does not). */
  plantOffB?: number;
  /** Planted: applied to the read-back C before it is checked (`offC`: where C's first window starts). */
  plant?: (out: Float32Array, inputs: { a: Float32Array; b: Float32Array; offC: number }) => void;
}

const randomArray = (n: number, next: () => number): Float32Array => Float32Array.from({ length: n }, () => 2 * next() - 1);
const asStored = (x: Float32Array, p: 'f32' | 'f16' | undefined) => (p === 'f16' ? roundArrayToF16(x) : x);

/** The case as a failure message names it. */
export const describeCase = (c: MatmulCase, seed: number): string => `seed ${seed}, ${describeTile(c.tile)}, ${JSON.stringify({ ...c, tile: undefined })}`;

/**
 * Runs one matmul on inputs drawn from `seed` and returns null when it passes, else what failed (the
 * worst element, or the first stray write). Checked element by element:
 * - inside C's [M, N] windows: |gpu − ref| within the judge's allowance (src/verify/tolerance.ts: λ·e of an f32 sum
 *   of K products, the alpha scaling, bias and accumulation; where C is stored f16, one rounding of the result on
 *   top, f16Stored), with ref in float64 from the inputs as stored. A single missing or doubled product, or one
 *   element 1e-4 relative off, fails (the tests plant these).
 *   With 'skip-masked-tiles', masked entries (col > row + offset) may hold anything.
 * - everywhere else in C's buffer (strides' gaps, guard tail): the value before the run, bit for
 *   bit (NaN poison, or the accumulated input), so no write strays.
 */
export async function runMatmulCase(g: GpuContext, cache: PipelineCache, c: MatmulCase, seed: number): Promise<string | null> {
  const next = rng(seed);
  const t = c.types ?? {};
  const layout = matmulLayout(c);
  const { batch, lda, ldb, ldc, offA, offB, offC, offBias, batchA, batchB, batchC, extent } = layout;
  const guard = 6; // elements past the last one the call may touch
  const aHost = asStored(randomArray(extent(offA, batchA, c.M, lda, c.K) + guard, next), t.a);
  const bHost = asStored(randomArray((c.transB ? extent(offB, batchB, c.N, ldb, c.K) : extent(offB, batchB, c.K, ldb, c.N)) + guard + (c.plantOffB ?? 0), next), t.b);
  const cLength = extent(offC, batchC, c.M, ldc, c.N) + guard;
  const c0 = c.accumulate ? asStored(randomArray(cLength, next), t.c) : new Float32Array(cLength).fill(Number.NaN);
  const biasHost = c.bias ? asStored(randomArray(offBias + c.N + guard, next), t.bias) : null;
  zeroPastDiagonal(c, layout, aHost);
  const owned: GPUBuffer[] = [];
  const own = (b: GPUBuffer) => (owned.push(b), b);
  try {
    const a = own(upload(g, aHost, 'A', t.a));
    const b = own(upload(g, bHost, 'B', t.b));
    const cBuf = own(upload(g, c0, 'C', t.c));
    if (!c.accumulate) poison(g, cBuf, undefined, t.c);
    const biasBuf = biasHost ? own(upload(g, biasHost, 'bias', t.bias)) : undefined;
    const call: MatmulCall = {
      label: `matmul test seed ${seed}`, M: c.M, N: c.N, K: c.K,
      a: { buffer: a }, b: { buffer: b }, c: { buffer: cBuf }, bias: biasBuf ? { buffer: biasBuf } : undefined,
      transB: c.transB, accumulate: c.accumulate, alpha: c.alpha ?? 1, lda, ldb, ldc, offA, offB: offB + (c.plantOffB ?? 0), offC, offBias,
      batch, batchA, batchB, batchC, causal: c.causal, causalOffset: c.causalOffset ?? 0, tile: c.tile, types: c.types,
    };
    if (usesVec4(call) !== c.vec4) return `the ${usesVec4(call) ? 'vec4' : 'scalar'} variant ran, the case asks for ${c.vec4 ? 'vec4' : 'scalar'}`;
    const d = await g.scoped('matmul test', () => prepareMatmul(g, cache, call));
    await runDispatch(g, d, 'matmul test');
    const out = await readBack(g, cBuf, cLength, 0, t.c);
    c.plant?.(out, { a: aHost, b: bHost, offC });

    const written = new Uint8Array(cLength);
    let worst = { excess: -Infinity, at: -1, got: 0, want: 0, tol: 0 };
    for (const e of expectedC(c, layout, aHost, bHost, c0, biasHost)) {
      written[e.at] = 1;
      if (e.masked) continue;
      const tol = t.c === 'f16' ? f16Stored(e.allowance, e.want) : e.allowance;
      const err = Math.abs(out[e.at]! - e.want);
      const excess = Number.isFinite(err) ? err - tol : Infinity;
      if (excess > worst.excess) worst = { excess, at: e.at, got: out[e.at]!, want: e.want, tol };
    }
    if (worst.excess > 0) {
      const z = Math.floor((worst.at - offC) / batchC);
      const r = worst.at - offC - z * batchC;
      return `worst element batch ${z} row ${Math.floor(r / ldc)} col ${r % ldc}: ${worst.got} vs ${worst.want} (allowance ${worst.tol})`;
    }
    const i = strayWrite(out, c0, written);
    return i >= 0 ? `element ${i} outside every C window changed: ${c0[i]} → ${out[i]}` : null;
  } finally {
    for (const buffer of owned) buffer.destroy();
  }
}
