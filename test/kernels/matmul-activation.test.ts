// The MLP's first product with its activation in the epilogue: C = act(A·Bᵀ + bias) (the override
// ACT in shaders/matmul_params.wgsl), on the tiled kernel (vec4 and scalar loads, 4×4 and 8×8
// register blocks) and the shuffle kernel, f32 and f16 storage, against float64 from the stored
// inputs; sizes no multiple of any tile (M 7 and 19, N 75, K 37 and 40); C poisoned with NaN before
// the run. Planted: the other activation, and a skipped bias, each fail the same check.
// Fresh random inputs each run; a failure prints its seed.
import { describe, expect, it } from 'vitest';
import { freshSeed, rng, runDispatch, skipWithout, useGpuContext } from '../helpers/gpu.js';
import { poison, readBack, upload, createStorage } from '../../src/gpu/buffers.js';
import { roundArrayToF16 } from '../../src/io/half.js';
import { prepareMatmul, tileCaps, tileProblem, describeTile, type Activation, type MatmulTile } from '../../src/kernels/matmul.js';
import { activate, geluNewSlope } from '../../src/reference/mlp.js';
import { activationError } from '../../src/verify/layer-bound.js';
import { allowance, matmulElementError, U32 } from '../../src/verify/tolerance.js';

const { ctx, cache } = useGpuContext();

const TILES: MatmulTile[] = [
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 1, vec4: true, groupM: 8 },
  { wgX: 8, wgY: 8, tk: 8, rb: 4, stages: 2, vec4: false, groupM: 8 },
  { kernel: 'shuffle' },
];

interface Case { M: number; N: number; K: number; activation: Activation; precision: 'f32' | 'f16'; tile: MatmulTile }

/** act(A·Bᵀ + bias) in float64 and each element's allowance (src/verify/tolerance.ts): z's error through the slope, the activation's own and the store, as verification's MLP bound has it. */
function expected(a: Float32Array, b: Float32Array, bias: Float32Array, c: Case, fault: { activation?: Activation; noBias?: boolean } = {}) {
  const ref = new Float64Array(c.M * c.N);
  const tol = new Float64Array(c.M * c.N);
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < c.N; j++) {
      let s = 0, a2 = 0, b2 = 0;
      for (let k = 0; k < c.K; k++) {
        s += a[i * c.K + k]! * b[j * c.K + k]!;
        a2 += a[i * c.K + k]! ** 2;
        b2 += b[j * c.K + k]! ** 2;
      }
      const z = s + (fault.noBias ? 0 : bias[j]!);
      const ez = matmulElementError({ normProduct: Math.sqrt(a2 * b2), K: c.K, dot: s, bias: bias[j]! });
      const h = activate(fault.activation ?? c.activation, z);
      ref[i * c.N + j] = h;
      tol[i * c.N + j] = allowance(activationError(c.activation, z, ez) + U32 * Math.abs(h), h, c.precision);
    }
  }
  return { ref, tol };
}

async function run(c: Case, seed: number) {
  const g = ctx();
  const next = rng(seed);
  // Inputs of a size where gelu_new's curve matters: z spread over about ±4.
  const rand = (n: number, scale: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
  const store = (x: Float32Array) => (c.precision === 'f16' ? roundArrayToF16(x) : x);
  const a = store(rand(c.M * c.K, 1)), b = store(rand(c.N * c.K, 3 / Math.sqrt(c.K))), bias = store(rand(c.N, 0.5));
  const buffers = [upload(g, a, 'A', c.precision), upload(g, b, 'B', c.precision), upload(g, bias, 'bias', c.precision), createStorage(g, c.M * c.N + 3, 'C', c.precision)];
  try {
    poison(g, buffers[3]!, undefined, c.precision);
    const d = await prepareMatmul(g, cache(), {
      label: 'fc1 with activation', M: c.M, N: c.N, K: c.K, a: { buffer: buffers[0]! }, b: { buffer: buffers[1]! }, bias: { buffer: buffers[2]! },
      c: { buffer: buffers[3]! }, transB: true, activation: c.activation, tile: c.tile,
      types: { a: c.precision, b: c.precision, bias: c.precision, c: c.precision },
    });
    await runDispatch(g, d, 'fc1 with activation');
    const out = await readBack(g, buffers[3]!, c.M * c.N + 3, 0, c.precision);
    return { a, b, bias, out };
  } finally {
    for (const buf of buffers) buf.destroy();
  }
}

/** The first element outside its allowance (NaN included), or null. */
function firstFailure(out: Float32Array, ref: Float64Array, tol: Float64Array): string | null {
  for (let n = 0; n < ref.length; n++) {
    const err = Math.abs(out[n]! - ref[n]!);
    if (!(err <= tol[n]!)) return `element ${n}: gpu ${out[n]}, float64 ${ref[n]}, allowed ±${tol[n]!.toExponential(2)}`;
  }
  return null;
}

describe('matmul epilogue activation against float64', () => {
  const cases: Case[] = [];
  // Each (tile, activation, precision, load width) is a pipeline, seconds to compile on lavapipe:
  // the second tiled config runs two of its four combinations.
  for (const tile of TILES) {
    for (const activation of ['gelu_new', 'relu'] as const) {
      for (const precision of ['f32', 'f16'] as const) {
        if (tile === TILES[1] && (activation === 'gelu_new') !== (precision === 'f32')) continue;
        cases.push({ M: 7, N: 75, K: 37, activation, precision, tile }, { M: 19, N: 75, K: 40, activation, precision, tile });
      }
    }
  }
  it.for(cases.map((c) => [`${describeTile(c.tile)} ${c.activation} ${c.precision} ${c.M}×${c.N}×${c.K}`, c] as const))('%s', async ([, c], t) => {
    const g = ctx();
    // Not a silent pass: a kernel the adapter cannot run (e.g. no subgroups of 8) is skipped with the reason.
    const problem = tileProblem(c.tile, g.limits, tileCaps(g));
    t.skip(problem !== null, `${describeTile(c.tile)}: not on this adapter (${problem})`);
    if (c.precision === 'f16') skipWithout(t, g, 'shader-f16');
    const seed = freshSeed();
    const { a, b, bias, out } = await run(c, seed);
    const { ref, tol } = expected(a, b, bias, c);
    expect(firstFailure(out, ref, tol), `seed ${seed}`).toBeNull();
    // Past C's M·N elements the poison stays: nothing was written beyond.
    for (let n = c.M * c.N; n < out.length; n++) expect(Number.isNaN(out[n]!), `seed ${seed}: element ${n} past C was written`).toBe(true);
    // The same check fails the other activation and a skipped bias.
    const other = c.activation === 'relu' ? 'gelu_new' : 'relu';
    expect(firstFailure(out, expected(a, b, bias, c, { activation: other }).ref, tol), `seed ${seed}: ${other} passed`).not.toBeNull();
    expect(firstFailure(out, expected(a, b, bias, c, { noBias: true }).ref, tol), `seed ${seed}: no bias passed`).not.toBeNull();
  });

  it('gelu_new is the tanh form: known values and slope', () => {
    expect(activate('gelu_new', 0)).toBe(0);
    expect(activate('gelu_new', 1)).toBeCloseTo(0.8411919906082768, 14); // 0.5·(1 + tanh(√(2/π)·1.044715))
    expect(activate('gelu_new', -3)).toBeCloseTo(-0.0036373920817729943, 14);
    expect(activate('relu', -2)).toBe(0);
    expect(Number.isNaN(activate('relu', Number.NaN))).toBe(true);
    const h = 1e-6;
    for (const x of [-2.5, -0.3, 0.7, 3]) expect(geluNewSlope(x)).toBeCloseTo((activate('gelu_new', x + h) - activate('gelu_new', x - h)) / (2 * h), 6);
  });
});
