// The LayerNorm kernel with y stored as f16 (x, gain, bias and the statistics f32) against the
// float64 reference: the f32 allowance of layernorm-cases.ts plus one f16 rounding of the result.
// Every element written (NaN-poisoned y with a guard tail), subgroup and tree reductions, a deep
// residual stream, constant rows; planted errors the f16 check must catch.
import { describe, expect, it } from 'vitest';
import { createStorage } from '../../src/gpu/buffers.js';
import { InputError } from '../../src/gpu/errors.js';
import { release } from '../../src/gpu/dispatch.js';
import { F16_UNIT, roundArrayToF16, roundToF16 } from '../../src/io/half.js';
import { layerNormWorkgroupSize, prepareLayerNorm } from '../../src/kernels/layernorm.js';
import { LAYERNORM_EPS, layerNorm } from '../../src/reference/layernorm.js';
import { freshSeed, rng, skipWithout, useGpuContext, withoutF16 } from '../helpers/gpu.js';
import { f16Stored } from '../../src/verify/tolerance.js';
import { allowances, firstFailure, gainBias, gpuLayerNorm, makeCase, type Case, type RunOptions } from './layernorm-cases.js';

const { ctx, cache } = useGpuContext();

/** The f32 allowance of each element (layernorm-cases.ts) plus one f16 store (src/verify/tolerance.ts). */
function allowancesF16(c: Case, wg: number, eps: number): Float64Array {
  const a = allowances(c, wg, eps);
  const { gain, bias } = gainBias(c);
  const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias, eps);
  return a.map((v, i) => f16Stored(v, ref[i]!));
}

const variants = (): boolean[] => (ctx().hasSubgroups ? [true, false] : [false]);

async function expectAccurateF16(c: Case, what: string, o: RunOptions = {}): Promise<Float32Array> {
  const { gain, bias } = gainBias(c);
  const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias, LAYERNORM_EPS);
  const tol = allowancesF16(c, o.workgroupSize ?? layerNormWorkgroupSize(ctx(), c.dModel), LAYERNORM_EPS);
  const { out, tail } = await gpuLayerNorm(ctx(), cache(), c, { ...o, outPrecision: 'f16' });
  expect(firstFailure(out, ref, tol), what).toBeNull();
  expect([...out].every((v) => roundToF16(v) === v), `${what}: outputs are f16 values`).toBe(true);
  expect([...tail].every(Number.isNaN), `${what}: the guard tail past the last row was written`).toBe(true);
  return out;
}

describe('layernorm kernel, y stored as f16', () => {
  it('is refused by name on a device without shader-f16', async () => {
    const g = ctx();
    const x = createStorage(g, 256, 'ln f16 x');
    const y = createStorage(g, 256, 'ln f16 y');
    const call = { label: 'ln f16', x: { buffer: x }, y: { buffer: y }, params: { buffer: x }, rows: 2, dModel: 16, outPrecision: 'f16' as const };
    try {
      await expect(prepareLayerNorm(withoutF16(g), cache(), call)).rejects.toThrow(InputError);
      await expect(prepareLayerNorm(withoutF16(g), cache(), call)).rejects.toThrow(/shader-f16/);
    } finally {
      x.destroy();
      y.destroy();
    }
  });

  it('checks the y binding in f16 values', async (t) => {
    const g = ctx();
    skipWithout(t, g, 'shader-f16');
    const x = createStorage(g, 256, 'ln f16 x');
    const y = createStorage(g, 256, 'ln f16 y');
    const call = { label: 'ln f16', x: { buffer: x }, y: { buffer: y }, params: { buffer: x }, rows: 2, dModel: 16, outPrecision: 'f16' as const };
    try {
      // An f16 y needs only 2 bytes per element: 2·16 values fit 64 bytes, 2·17 do not.
      release([await prepareLayerNorm(g, cache(), { ...call, y: { buffer: y, size: 64 } })]);
      await expect(prepareLayerNorm(g, cache(), { ...call, dModel: 17, y: { buffer: y, size: 64 } })).rejects.toThrow(/y binding holds 32 f16 values, 34 needed/);
    } finally {
      x.destroy();
      y.destroy();
    }
  });

  for (const dModel of [1, 7, 100, 768, 4099]) {
    it(`dModel ${dModel}, rows 1 and 33`, async (t) => {
      skipWithout(t, ctx(), 'shader-f16');
      for (const rows of [1, 33]) {
        const seed = freshSeed();
        const rand = rng(seed ^ 0x5bd1e995);
        const c = makeCase(seed, rows, dModel, () => 4 * rand() - 2, () => 0.5 + 1.5 * rand(), dModel % 3);
        for (const sg of variants()) await expectAccurateF16(c, `${rows} rows, subgroups ${sg}, seed ${seed}`, { subgroups: sg });
      }
    });
  }

  it('a deep residual stream (|mean| ≈ 300), and the check catches x read as f16 there', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const c = makeCase(seed, 5, 768, (r) => (r % 2 ? -1 : 1) * (250 + 25 * r), () => 1);
    for (const sg of variants()) await expectAccurateF16(c, `subgroups ${sg}, seed ${seed}`, { subgroups: sg });
    // Planted: a kernel that stored x as f16 before normalising (300·2⁻¹¹ ≈ 0.15 of error in x − mean).
    const { gain, bias } = gainBias(c);
    const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias);
    const planted = roundArrayToF16(layerNorm(roundArrayToF16(c.x), c.rows, c.dModel, gain, bias));
    expect(firstFailure(planted, ref, allowancesF16(c, 64, LAYERNORM_EPS)), 'LN of f16-rounded x passed').not.toBeNull();
  });

  it('constant rows give y = bias rounded to f16 (one of its two neighbours), no NaN', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const dModel = 768;
    const values = [0, 300, -1234.5, 1e6];
    const c = makeCase(freshSeed(), values.length, dModel, () => 0, () => 0);
    values.forEach((v, r) => c.x.fill(v, r * dModel, (r + 1) * dModel));
    const { bias } = gainBias(c);
    const { out } = await gpuLayerNorm(ctx(), cache(), c, { outPrecision: 'f16' });
    for (let i = 0; i < out.length; i++) {
      const b = bias[i % dModel]!;
      const nearest = roundToF16(b);
      // f16's spacing at the bias: 2^(e − 10) for normal values, 2^-24 for subnormals (|b| < 2^-14).
      const ulp = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(nearest) || 2 ** -14)) - 10));
      if (!(Math.abs(out[i]! - b) < ulp)) expect.fail(`element ${i}: ${out[i]} is no f16 neighbour of the bias ${b}`);
    }
  });

  it('the f16 check catches a gain offset off by one, and one element off by 3 f16 ulps', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const c = makeCase(seed, 5, 64, () => 0, () => 1, 2);
    const { gain, bias } = gainBias(c);
    const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias);
    const tol = allowancesF16(c, layerNormWorkgroupSize(ctx(), c.dModel), LAYERNORM_EPS);
    const { out: shifted } = await gpuLayerNorm(ctx(), cache(), c, { gainOffset: c.gainOffset + 1, biasOffset: c.biasOffset, outPrecision: 'f16' });
    expect(firstFailure(shifted, ref, tol), `seed ${seed}: gain read one element late passed`).not.toBeNull();
    const out = await expectAccurateF16(c, `seed ${seed}`);
    const k = out.findIndex((v) => Math.abs(v) > 0.5);
    out[k] = out[k]! * (1 + 6 * F16_UNIT);
    expect(firstFailure(out, ref, tol), `seed ${seed}: element ${k} 3 ulps off passed`).not.toBeNull();
  });
});
