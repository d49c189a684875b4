// src/gpu/buffers.ts with f16 storage: sizes, uploads rounded to nearest even (as src/io/half.ts),
// read-backs widened exactly from any element offset, readAt, NaN poison, writes into an existing
// buffer (the odd tail's documented +0), and f32 unchanged.
import { describe, expect, it } from 'vitest';
import { createStorage, paddedBytes, poison, readAt, readBack, upload, writeF32AsF16, writeStorage } from '../../src/gpu/buffers.js';
import { bytesPer, requireF16 } from '../../src/gpu/precision.js';
import { roundArrayToF16 } from '../../src/io/half.js';
import { InputError } from '../../src/gpu/errors.js';
import { freshSeed, rng, useGpuContext } from '../helpers/gpu.js';

const { ctx } = useGpuContext();

describe('f16 storage helpers', () => {
  it('sizes: 2 bytes per element, padded to 16', () => {
    expect(bytesPer('f16')).toBe(2);
    expect(bytesPer('f32')).toBe(4);
    expect(paddedBytes(9, 'f16')).toBe(32);
    expect(paddedBytes(8, 'f16')).toBe(16);
    expect(paddedBytes(9)).toBe(48);
  });

  it('requireF16 names the feature and the adapter', () => {
    const without = { hasF16: false, adapterInfo: { name: 'Some GPU' } } as Parameters<typeof requireF16>[0];
    expect(() => requireF16(without, 'run')).toThrow(InputError);
    expect(() => requireF16(without, 'run')).toThrow('run: --precision f16 needs the adapter feature shader-f16, which Some GPU does not offer');
    expect(() => requireF16({ ...without, hasF16: true }, 'run')).not.toThrow();
  });

  it('upload rounds to nearest even, readBack and readAt widen exactly from any offset; poison is NaN', async () => {
    const gpu = ctx();
    const seed = freshSeed();
    const next = rng(seed);
    const n = 1001;
    const data = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 1 + 2 ** -11 : i % 11 === 0 ? 7e4 : (2 * next() - 1) * 10 ** (4 * next() - 6)));
    const want = roundArrayToF16(data);
    const buffer = upload(gpu, data, 'f16 upload', 'f16');
    try {
      expect(buffer.size).toBe(paddedBytes(n, 'f16'));
      expect([...(await readBack(gpu, buffer, n, 0, 'f16'))], `seed ${seed}`).toEqual([...want]);
      expect(want[0]).toBe(1); // the tie 1 + 2⁻¹¹ went to the even neighbour
      expect(want[11]).toBe(Infinity);
      for (const [offset, count] of [[1, 1], [3, 4], [2, 5], [999, 2], [1000, 1]]) {
        expect([...(await readBack(gpu, buffer, count!, offset!, 'f16'))]).toEqual([...want.subarray(offset!, offset! + count!)]);
      }
      const indices = [0, 1, 2, 7, 500, 999, 1000];
      expect([...(await readAt(gpu, buffer, indices, 'f16'))]).toEqual(indices.map((i) => want[i]!));
      poison(gpu, buffer, undefined, 'f16');
      expect((await readBack(gpu, buffer, buffer.size / 2, 0, 'f16')).every(Number.isNaN)).toBe(true);
    } finally {
      buffer.destroy();
    }
  });

  it('writeStorage and writeF32AsF16 write into an existing buffer; f32 is unchanged', async () => {
    const gpu = ctx();
    const buffer = createStorage(gpu, 20, 'f16 write', 'f16');
    const f32 = createStorage(gpu, 6, 'f32 write');
    try {
      poison(gpu, buffer, 20, 'f16');
      writeStorage(gpu, buffer, 2, new Float32Array([0.1, 0.2, 0.3]), 'f16'); // odd count: element 5 becomes +0
      writeF32AsF16(gpu, buffer, 16, new Float32Array([-2.5, 65520]));
      const got = await readBack(gpu, buffer, 12, 0, 'f16');
      expect([...got]).toEqual([NaN, NaN, ...roundArrayToF16([0.1, 0.2, 0.3]), 0, NaN, NaN, -2.5, Infinity, NaN, NaN]);
      expect(() => writeStorage(gpu, buffer, 3, new Float32Array(2), 'f16')).toThrow(/even/);
      expect(() => writeF32AsF16(gpu, buffer, 2, new Float32Array(2))).toThrow(/multiple of 4/);
      poison(gpu, f32);
      writeStorage(gpu, f32, 1, new Float32Array([0.1, 3]));
      expect([...(await readBack(gpu, f32, 4))]).toEqual([NaN, Math.fround(0.1), 3, NaN]);
    } finally {
      buffer.destroy();
      f32.destroy();
    }
  });
});
