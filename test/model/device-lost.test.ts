// A device lost in the middle of a run is reported with the layer reached, never a hang.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/model/engine.js';
import { GpuError } from '../../src/gpu/errors.js';
import { createNodeGpu } from '../../src/node/dawn.js';

describe('device loss', () => {
  // The engine names layers from 0, as its stage labels do: after layer `after` ran, the device is
  // destroyed behind the engine's back (the portable way to lose it), so layer after+1 fails.
  for (const after of [0, 2]) {
    it(`lost after layer ${after} ran: rejects naming layer ${after + 1} and the reason`, async () => {
      const engine = await Engine.create(createNodeGpu());
      const completed: number[] = [];
      try {
        const error = await engine.run({ layers: 5, heads: 2, dModel: 32, dHead: 8, seq: 5 }, {
          onLayer: (p) => {
            completed.push(p.layer);
            if (p.layer === after) engine.gpu.device.destroy();
          },
        }).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(GpuError);
        expect((error as GpuError).kind).toBe('lost');
        // The layer first, then the reason: "layer 3: GPU device lost (destroyed): …".
        expect((error as GpuError).message).toMatch(new RegExp(`^layer ${after + 1}: GPU device lost \\(destroyed\\)`));
        expect(completed).toEqual(Array.from({ length: after + 1 }, (_, i) => i));
      } finally {
        engine.destroy();
      }
    });
  }
});
