// A device lost in the middle of a run is reported with the layer reached, never a hang.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/model/engine.js';
import { GpuError } from '../../src/gpu/errors.js';
import { createNodeGpu } from '../../src/node/dawn.js';

describe('device loss', () => {
  it('rejects with the layer reached and the reason', async () => {
    const engine = await Engine.create(createNodeGpu());
    // Destroying the GPUDevice behind the engine's back is the portable way to lose it.
    const run = engine.run({ layers: 4, heads: 2, dModel: 32, dHead: 8, seq: 5 }, {
      onLayer: (p) => { if (p.layer === 1) engine.gpu.device.destroy(); },
    });
    await expect(run).rejects.toThrow(GpuError);
    await expect(run).rejects.toThrow(/layer 2.*lost|lost.*layer 2|device lost/i);
    engine.destroy();
  });
});
