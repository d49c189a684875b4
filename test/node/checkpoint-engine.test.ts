// The golden checkpoints (test/golden/checkpoints, numpy from Hugging Face's model definitions)
// through the project's float64 reference and through the engine on the GPU: each layer's
// residual stream (the whole block: LN1, attention, LN2, MLP) from the checkpoint's own tensors,
// read by the loader, against numpy's. The GPU's states also pass the layer-local exact check.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointRunConfig } from '../../src/io/checkpoint-config.js';
import { Checkpoint } from '../../src/node/checkpoint.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { attentionLayer } from '../../src/reference/attention.js';
import { compare } from '../../src/verify/compare.js';
import { verifyExactLayers } from '../../src/verify/exact.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const DIR = join(GOLDEN_DIR, 'checkpoints');
const CASES: { name: string; layers: number; tokens: number[] }[] = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));

describe.each(CASES)('$name', (c) => {
  it('the float64 reference, layer by layer from the loaded tensors, gives numpy\'s residual stream', async () => {
    const ckpt = Checkpoint.open(join(DIR, c.name));
    const exp = new SafetensorsFile(join(DIR, `${c.name}.expected.safetensors`));
    try {
      const cfg = checkpointRunConfig(ckpt.config, { seq: c.tokens.length });
      let x: ArrayLike<number> = exp.read('embedded');
      for (let l = 0; l < c.layers; l++) {
        x = attentionLayer(x, null, ckpt.layerTensors(l), cfg).y;
        const cmp = compare(x, exp.read(`layer.${l}`), { atol: 1e-6, rtol: 1e-6 });
        expect(cmp.passed, `layer ${l}: max abs error ${cmp.maxAbsError} at ${cmp.worstIndex}`).toBe(true);
      }
    } finally {
      exp.close();
      ckpt.close();
    }
  });

  it('the engine (block full, streamed from the files) gives numpy\'s residual stream, and passes the exact check', async () => {
    const ckpt = Checkpoint.open(join(DIR, c.name));
    const exp = new SafetensorsFile(join(DIR, `${c.name}.expected.safetensors`));
    try {
      const cfg = checkpointRunConfig(ckpt.config, { seq: c.tokens.length });
      const inputs = { x: exp.read('embedded'), context: null };
      const states: Float32Array[] = [inputs.x];
      const r = await engine().run(cfg, {
        weights: ckpt.weightSource(), inputs, onLayer: async (_p, probe) => { states.push(await probe.readOutput()); },
      });
      expect(r.layersRun).toBe(c.layers);
      for (let l = 0; l < c.layers; l++) {
        // fp32 on the GPU against float64 rounded to f32 (values of order 1–10).
        const cmp = compare(states[l + 1]!, exp.read(`layer.${l}`), { atol: 1e-4, rtol: 1e-4 });
        expect(cmp.passed, `layer ${l}: max abs error ${cmp.maxAbsError} at ${cmp.worstIndex}`).toBe(true);
      }
      const v = await verifyExactLayers(cfg, ckpt.weightSource(), inputs, states);
      expect(v.passed, v.detail).toBe(true);
    } finally {
      exp.close();
      ckpt.close();
    }
  });
});
