// createNodeGpu holds Dawn's instance while a device made from it lives, and only then.
import { describe, expect, it } from 'vitest';
import { createNodeGpu, heldNodeGpus } from '../../src/node/dawn.js';

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('createNodeGpu lifetime', () => {
  it('holds the instance from requestDevice until its last device is destroyed or lost', async () => {
    expect(heldNodeGpus()).toBe(0);
    const gpu = createNodeGpu();
    const first = await gpu.requestAdapter();
    expect(first, 'no WebGPU adapter').toBeTruthy();
    expect(heldNodeGpus()).toBe(0); // an adapter alone: the caller's reference decides
    const a = await first!.requestDevice();
    const b = await (await gpu.requestAdapter())!.requestDevice(); // an adapter makes one device
    try {
      expect(heldNodeGpus()).toBe(1);
      a.destroy();
      await settled();
      expect(heldNodeGpus()).toBe(1); // b still lives
    } finally {
      a.destroy();
      b.destroy();
    }
    await settled();
    expect(heldNodeGpus()).toBe(0);
  });

  it('two instances are held independently', async () => {
    const one = await (await createNodeGpu().requestAdapter())!.requestDevice();
    const two = await (await createNodeGpu().requestAdapter())!.requestDevice();
    try {
      expect(heldNodeGpus()).toBe(2);
      one.destroy();
      await settled();
      expect(heldNodeGpus()).toBe(1);
    } finally {
      one.destroy();
      two.destroy();
    }
    await settled();
    expect(heldNodeGpus()).toBe(0);
  });

  it('a failed requestDevice holds nothing', async () => {
    const adapter = (await createNodeGpu().requestAdapter())!;
    const over = { maxBufferSize: adapter.limits.maxBufferSize * 2 + 4096 };
    await expect(adapter.requestDevice({ requiredLimits: over })).rejects.toThrow();
    expect(heldNodeGpus()).toBe(0);
  });
});
