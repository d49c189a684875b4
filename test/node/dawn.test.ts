// createNodeGpu holds Dawn's instance while a device made from it lives, and only then.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeEach, describe, expect, it } from 'vitest';
import { createNodeGpu, heldNodeGpus } from '../../src/node/dawn.js';

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (v8.setFlagsFromString('--expose-gc'), runInNewContext('gc'));

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

// Counted from what the process held when the test began: the fast tier runs other files' tests in this worker first
// (vitest.config.ts, isolate: false), and an instance one of them still holds is not this test's (jax-js, the
// benchmark's peer, keeps its device for the life of the process: test/bench/jax-peer.test.ts).
let before = 0;
const held = () => heldNodeGpus() - before;
beforeEach(() => {
  before = heldNodeGpus();
});

describe('createNodeGpu lifetime', () => {
  it('holds the instance from requestDevice until its last device is destroyed or lost', async () => {
    expect(held()).toBe(0);
    const gpu = createNodeGpu();
    const first = await gpu.requestAdapter();
    expect(first, 'no WebGPU adapter').toBeTruthy();
    expect(held()).toBe(0); // an adapter alone: the caller's reference decides
    const a = await first!.requestDevice();
    const b = await (await gpu.requestAdapter())!.requestDevice(); // an adapter makes one device
    try {
      expect(held()).toBe(1);
      a.destroy();
      await settled();
      expect(held()).toBe(1); // b still lives
    } finally {
      a.destroy();
      b.destroy();
    }
    await settled();
    expect(held()).toBe(0);
  });

  it('two instances are held independently', async () => {
    const one = await (await createNodeGpu().requestAdapter())!.requestDevice();
    const two = await (await createNodeGpu().requestAdapter())!.requestDevice();
    try {
      expect(held()).toBe(2);
      one.destroy();
      await settled();
      expect(held()).toBe(1);
    } finally {
      one.destroy();
      two.destroy();
    }
    await settled();
    expect(held()).toBe(0);
  });

  it('a failed requestDevice holds nothing', async () => {
    const adapter = (await createNodeGpu().requestAdapter())!;
    const over = { maxBufferSize: adapter.limits.maxBufferSize * 2 + 4096 };
    await expect(adapter.requestDevice({ requiredLimits: over })).rejects.toThrow();
    expect(held()).toBe(0);
  });

  it('the instance lives while its device does, even with nobody else referencing it, and is freed after', async () => {
    let freed = false;
    const registry = new FinalizationRegistry(() => (freed = true));
    const collect = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await settled();
      }
    };
    // The caller drops the GPU object at once, as `Engine.create(createNodeGpu())` does.
    let device: GPUDevice | null = await (async () => {
      const gpu = createNodeGpu();
      registry.register(gpu, 0);
      return (await gpu.requestAdapter())!.requestDevice();
    })();
    await collect();
    expect(freed, 'the instance was freed under a live device').toBe(false);
    const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buffer, 0, new Float32Array([1, 2, 3, 4]));
    await device.queue.onSubmittedWorkDone();
    await buffer.mapAsync(GPUMapMode.READ);
    expect([...new Float32Array(buffer.getMappedRange())]).toEqual([1, 2, 3, 4]);
    buffer.destroy();
    device.destroy();
    await settled();
    expect(held()).toBe(0);
    device = null;
    for (let i = 0; i < 10 && !freed; i++) await collect();
    expect(freed, 'the instance outlived its last device').toBe(true);
  });
});
