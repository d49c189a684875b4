// The seeded fill on the GPU is bit-identical to the CPU generator, chunk offsets included; in f16
// every F16 bit equals src/io/half.ts's rounding of the CPU value (ties, subnormals, underflow to
// ±0 and overflow to ±Inf included), and an odd count leaves the neighbouring half-word alone.
import { describe, expect, it } from 'vitest';
import { createStorage, poison, readBack } from '../../src/gpu/buffers.js';
import { InputError } from '../../src/gpu/errors.js';
import { prepareFill } from '../../src/kernels/fill_random.js';
import { f16Bits } from '../../src/io/half.js';
import { seededArray, streamKey } from '../../src/model/seeded.js';
import { freshSeed, runDispatch, skipWithout, useGpuContext, withoutF16 } from '../helpers/gpu.js';

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

/** The fill's raw F16 bits: `halves` half-words of a buffer prefilled with `sentinel` halves. */
async function fillF16(count: number, halves: number, key: number, scale: number, offset: number, sentinel: number): Promise<Uint16Array> {
  const gpu = ctx();
  const buffer = createStorage(gpu, halves, 'fill f16 test', 'f16');
  const words = buffer.size / 4;
  gpu.device.queue.writeBuffer(buffer, 0, new Uint32Array(words).fill(sentinel * 0x10001));
  try {
    const d = await prepareFill(gpu, cache(), { label: 'fill f16 test', out: { buffer }, key, count, scale, offset, precision: 'f16' });
    await runDispatch(gpu, d, 'fill f16 test');
    // Read as f32 words (bits kept: nothing widens them), then viewed as halves.
    return new Uint16Array((await readBack(gpu, buffer, words)).buffer);
  } finally {
    buffer.destroy();
  }
}

describe('fill_random kernel, f16 storage', () => {
  it('is refused by name on a device without shader-f16', async () => {
    const gpu = withoutF16(ctx());
    const buffer = { size: 64 } as GPUBuffer;
    await expect(prepareFill(gpu, cache(), { label: 'f16 fill', out: { buffer }, key: 1, count: 8, scale: 1, precision: 'f16' })).rejects.toThrow(InputError);
    await expect(prepareFill(gpu, cache(), { label: 'f16 fill', out: { buffer }, key: 1, count: 8, scale: 1, precision: 'f16' })).rejects.toThrow(/shader-f16/);
  });

  // Scales that put the values in every F16 regime: normals (and their ties), the top binade
  // (rounding up to ±Inf past 65504 + 16), subnormals (ties between subnormals, rounding up to the
  // smallest normal), and values under half the smallest subnormal (±0). ~4.3 million values.
  const COUNT = 600_001;
  const scales = [1, 1 / Math.sqrt(48), 7e4, 2 ** 16, 2 ** -14, 2 ** -20, 3e-8];
  for (const scale of scales) {
    it(`${COUNT} values at scale ${scale}: every F16 bit equals src/io/half.ts, the odd tail's neighbour untouched`, async (t) => {
      skipWithout(t, ctx(), 'shader-f16');
      const seed = freshSeed();
      const key = streamKey(seed, 7);
      const offset = 4097;
      const bits = await fillF16(COUNT, COUNT + 5, key, scale, offset, 0xabcd);
      const ref = seededArray(key, COUNT, scale, offset);
      let ties = 0;
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < COUNT; i++) {
        const want = f16Bits(ref[i]!);
        if (bits[i] !== want) expect.fail(`seed ${seed}, scale ${scale}: element ${i} (${ref[i]}) is 0x${bits[i]!.toString(16)}, src/io/half.ts gives 0x${want.toString(16)}`);
        f[0] = ref[i]!;
        // A tie: the dropped f32 bits are exactly half an F16 unit (normal or subnormal result).
        const e = ((u[0]! >>> 23) & 0xff) - 112;
        const shift = e >= 1 ? 13 : 14 - e;
        if (e >= -10 && e < 31 && shift <= 24 && (((u[0]! & 0x7fffff) | (e >= 1 ? 0 : 0x800000)) & ((1 << shift) - 1)) === 1 << (shift - 1)) ties++;
      }
      if (scale === 1 || scale === 2 ** -14) expect(ties, 'ties to even were exercised').toBeGreaterThan(10);
      expect([...bits.subarray(COUNT, COUNT + 5)].every((h) => h === 0xabcd), 'the halves past count kept their value').toBe(true);
    });
  }

  it('short and chunked fills: counts 1, 2, 3 and a chunk at an odd tensor offset', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const key = streamKey(seed, 9);
    for (const [count, offset] of [[1, 0], [2, 0], [3, 5], [1001, 123_457]] as const) {
      const bits = await fillF16(count, count + 3, key, 0.3, offset, 0x1234);
      const want = [...seededArray(key, count, 0.3, offset)].map(f16Bits);
      expect([...bits.subarray(0, count)], `seed ${seed}, count ${count}`).toEqual(want);
      expect([...bits.subarray(count, count + 3)].every((h) => h === 0x1234), `count ${count}: wrote past count`).toBe(true);
    }
  });

  it('a binding too short for the count is refused', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const buffer = { size: 64 } as GPUBuffer;
    await expect(prepareFill(ctx(), cache(), { label: 'short', out: { buffer, size: 8 }, key: 1, count: 5, scale: 1, precision: 'f16' })).rejects.toThrow(/holds 8 bytes/);
  });
});
