// The seeded fill on the GPU is bit-identical to the CPU generator, chunk offsets included.
import { describe, expect, it } from 'vitest';
import { createStorage, poison, readBack } from '../../src/gpu/buffers.js';
import { prepareFill } from '../../src/kernels/fill_random.js';
import { seededArray, streamKey } from '../../src/model/seeded.js';
import { freshSeed, runDispatch, useGpuContext } from '../helpers/gpu.js';

const { ctx, cache } = useGpuContext();

describe('fill_random kernel', () => {
  for (const { count, offset } of [{ count: 1, offset: 0 }, { count: 1000, offset: 0 }, { count: 70_001, offset: 123_456 }]) {
    it(`${count} values from element ${offset} equal the CPU generator bit for bit`, async () => {
      const seed = freshSeed();
      const key = streamKey(seed, 42);
      const scale = 1 / Math.sqrt(48);
      const gpu = ctx();
      const buffer = createStorage(gpu, count + 4, 'fill test');
      poison(gpu, buffer);
      const d = await prepareFill(gpu, cache(), { label: 'fill test', out: { buffer }, key, count, scale, offset });
      try {
        await runDispatch(gpu, d, 'fill test');
        const out = await readBack(gpu, buffer, count + 4);
        const ref = seededArray(key, count, scale, offset);
        const firstDiff = ref.findIndex((v, i) => !Object.is(v, out[i]));
        expect(firstDiff, `seed ${seed}: first difference at ${firstDiff}`).toBe(-1);
        expect([...out.subarray(count)].every(Number.isNaN), 'wrote past count').toBe(true);
      } finally {
        buffer.destroy();
      }
    });
  }
});
