// The LayerNorm kernel against the float64 reference: every d_model shape class (1 to 12288,
// odd, prime, past a multiple of the workgroup), subgroup and tree reductions, a residual stream
// with |mean| ≈ 300 and std ≈ 1, constant rows (y = bias exactly), every element written (the
// output is poisoned with NaN and has a guard tail), and planted errors the check must catch.
import { describe, expect, it } from 'vitest';
import { upload } from '../../src/gpu/buffers.js';
import { InputError } from '../../src/gpu/errors.js';
import { layerNormWorkgroupSize, prepareLayerNorm } from '../../src/kernels/layernorm.js';
import { LAYERNORM_EPS, layerNorm } from '../../src/reference/layernorm.js';
import { freshSeed, rng, useGpuContext } from '../helpers/gpu.js';
import { allowances, firstFailure, gainBias, gpuLayerNorm as runLayerNorm, makeCase, type Case, type RunOptions } from './layernorm-cases.js';

const { ctx, cache } = useGpuContext();

const gpuLayerNorm = (c: Case, o: RunOptions = {}) => runLayerNorm(ctx(), cache(), c, o);

async function expectAccurate(c: Case, what: string, o: RunOptions = {}): Promise<void> {
  const eps = o.eps ?? LAYERNORM_EPS;
  const { gain, bias } = gainBias(c);
  const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias, eps);
  const wg = o.workgroupSize ?? layerNormWorkgroupSize(ctx(), c.dModel);
  const tol = allowances(c, wg, eps);
  const { out, tail } = await gpuLayerNorm(c, o);
  expect(firstFailure(out, ref, tol), what).toBeNull();
  expect([...tail].every(Number.isNaN), `${what}: the guard tail past the last row was written`).toBe(true);
}

/** Both reductions where the device has subgroups (lavapipe does), else the tree alone. */
const variants = (): boolean[] => (ctx().hasSubgroups ? [true, false] : [false]);
const label = (sg: boolean): string => (sg ? 'subgroup reductions' : 'tree reductions');

describe('layernorm kernel', () => {
  for (const dModel of [1, 3, 7, 64, 100, 768, 1000, 4099, 12288]) {
    it(`dModel ${dModel}, rows 1, 5, 33`, async () => {
      for (const rows of [1, 5, 33]) {
        const seed = freshSeed();
        // Means in ±2, stds 0.5 to 2; params padded by 0 to 2 NaNs (the gain's offset).
        const rand = rng(seed ^ 0x5bd1e995);
        const c = makeCase(seed, rows, dModel, () => 4 * rand() - 2, () => 0.5 + 1.5 * rand(), dModel % 3);
        for (const sg of variants()) await expectAccurate(c, `${rows} rows, ${label(sg)}, seed ${seed}`, { subgroups: sg });
      }
    });
  }

  it('a deep residual stream: |mean| ≈ 300, std ≈ 1, stays accurate (two-pass, shifted mean)', async () => {
    for (const dModel of [768, 12288]) {
      const seed = freshSeed();
      const c = makeCase(seed, 5, dModel, (r) => (r % 2 ? -1 : 1) * (250 + 25 * r), () => 1);
      for (const sg of variants()) await expectAccurate(c, `dModel ${dModel}, ${label(sg)}, seed ${seed}`, { subgroups: sg });
    }
  });

  it('the allowance is tight enough to fail the one-pass E[x²] − mean² on that stream', () => {
    // An f32 emulation of the one-pass variance (serial sums, the kernel's own order per thread).
    const c = makeCase(12345, 5, 12288, (r) => 300 + r, () => 1);
    const n = c.dModel;
    const { gain, bias } = gainBias(c);
    const naive = new Float64Array(c.rows * n);
    for (let r = 0; r < c.rows; r++) {
      const row = c.x.subarray(r * n, (r + 1) * n);
      let s = 0;
      let s2 = 0;
      for (const v of row) {
        s = Math.fround(s + v);
        s2 = Math.fround(s2 + Math.fround(v * v));
      }
      const mu = Math.fround(s / n);
      const variance = Math.max(0, Math.fround(Math.fround(s2 / n) - Math.fround(mu * mu)));
      const rstd = 1 / Math.sqrt(variance + LAYERNORM_EPS);
      for (let j = 0; j < n; j++) naive[r * n + j] = (row[j]! - mu) * rstd * gain[j]! + bias[j]!;
    }
    const ref = layerNorm(c.x, c.rows, n, gain, bias);
    expect(firstFailure(naive, ref, allowances(c, 64, LAYERNORM_EPS))).not.toBeNull();
  });

  it('constant rows give y = bias exactly, no NaN', async () => {
    for (const dModel of [1, 7, 768, 12288]) {
      const values = [0, 300, -1234.5, 0.1, 3e-8, 1e6];
      const c = makeCase(freshSeed(), values.length, dModel, () => 0, () => 0);
      values.forEach((v, r) => c.x.fill(v, r * dModel, (r + 1) * dModel));
      const { bias } = gainBias(c);
      for (const sg of variants()) {
        const { out } = await gpuLayerNorm(c, { subgroups: sg });
        for (let r = 0; r < values.length; r++) {
          expect([...out.subarray(r * dModel, (r + 1) * dModel)], `dModel ${dModel}, row of ${values[r]}, ${label(sg)}`).toEqual([...bias]);
        }
      }
    }
  });

  it('every workgroup size, and params with the bias before the gain', async () => {
    const seed = freshSeed();
    const dModel = 1000;
    const c = makeCase(seed, 5, dModel, () => 1, () => 1, 4);
    // Swap to [pad | bias | gain].
    const { gain, bias } = gainBias(c);
    const params = c.params.slice();
    params.set(bias, 4);
    params.set(gain, 4 + dModel);
    const swapped = { ...c, params, gainOffset: 4 + dModel, biasOffset: 4 };
    // 8 threads: on lavapipe (subgroups of 8) the one-subgroup reduction, with no workgroup memory.
    for (const workgroupSize of [8, 64, 128, 256]) {
      for (const sg of variants()) await expectAccurate(swapped, `WG ${workgroupSize}, ${label(sg)}, seed ${seed}`, { subgroups: sg, workgroupSize });
    }
  });

  it('rows past maxComputeWorkgroupsPerDimension fold into a 2-D grid', async () => {
    const rows = ctx().limits.maxComputeWorkgroupsPerDimension + 3;
    const seed = freshSeed();
    const c = makeCase(seed, rows, 2, (r) => r % 7, () => 1);
    await expectAccurate(c, `${rows} rows, seed ${seed}`);
  });

  it('a small-variance row is accurate with the right eps, and the check catches eps 10× off', async () => {
    // var ≈ 1e-5 = eps: eps decides half the denominator.
    const seed = freshSeed();
    const c = makeCase(seed, 3, 768, () => 5, () => Math.sqrt(1e-5));
    await expectAccurate(c, `seed ${seed}`);
    const { gain, bias } = gainBias(c);
    const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias, LAYERNORM_EPS);
    const tol = allowances(c, layerNormWorkgroupSize(ctx(), c.dModel), LAYERNORM_EPS);
    const { out } = await gpuLayerNorm(c, { eps: 10 * LAYERNORM_EPS });
    expect(firstFailure(out, ref, tol), 'eps 1e-4 instead of 1e-5 passed').not.toBeNull();
  });

  it('the check catches a gain offset off by one', async () => {
    const seed = freshSeed();
    const c = makeCase(seed, 5, 64, () => 0, () => 1, 2);
    const { gain, bias } = gainBias(c);
    const ref = layerNorm(c.x, c.rows, c.dModel, gain, bias);
    const tol = allowances(c, layerNormWorkgroupSize(ctx(), c.dModel), LAYERNORM_EPS);
    const { out } = await gpuLayerNorm(c, { gainOffset: c.gainOffset + 1, biasOffset: c.biasOffset });
    expect(firstFailure(out, ref, tol), 'gain read one element late passed').not.toBeNull();
  });

  it('refuses bad calls before any GPU work', async () => {
    const gpu = ctx();
    const buffer = upload(gpu, new Float32Array(64), 'ln small');
    const b = { buffer };
    const call = { label: 'ln bad', x: b, y: b, params: b, rows: 2, dModel: 16 };
    try {
      await expect(prepareLayerNorm(gpu, cache(), { ...call, eps: 0 })).rejects.toThrow(InputError);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, dModel: 0 })).rejects.toThrow(/positive integers/);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, workgroupSize: 96 })).rejects.toThrow(/power of two/);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, gainOffset: 40 })).rejects.toThrow(/params binding holds 64 f32 values, 72 needed/);
      await expect(prepareLayerNorm(gpu, cache(), { ...call, rows: 5 })).rejects.toThrow(/x binding/);
    } finally {
      buffer.destroy();
    }
  });
});
