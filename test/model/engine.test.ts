import { describe, expect, it } from 'vitest';
import { useEngine } from '../helpers/gpu.js';
import { attentionStack, seededLayerWeights, seededInput } from '../../src/reference/attention.js';
import { compare, FP32_TOLERANCE } from '../../src/verify/compare.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';

const engine = useEngine();

async function check(partial: Partial<AttentionConfig>, seed = Math.floor(Math.random() * 2 ** 31)) {
  const result = await engine().run(partial, { seed });
  const cfg = resolveConfig(partial);
  const { x, context } = seededInput(seed, cfg);
  const ref = attentionStack(x, context, (l) => seededLayerWeights(seed, l, cfg), cfg);
  const c = compare(result.output, ref, FP32_TOLERANCE);
  expect(c.passed, `seed ${seed}: max abs ${c.maxAbsError} at ${c.worstIndex}`).toBe(true);
  return result;
}

describe('engine vs float64 reference', () => {
  it('small causal self-attention', async () => {
    const r = await check({ layers: 2, heads: 4, dModel: 256, dHead: 64, seq: 33 });
    console.log(r.adapter.name, r.timings);
  });
  it('odd shapes', async () => {
    await check({ layers: 1, heads: 3, dModel: 48, dHead: 13, seq: 7 });
    await check({ layers: 2, heads: 3, dModel: 48, dHead: 16, seq: 1 });
  });
  it('unmasked and cross', async () => {
    await check({ layers: 2, heads: 2, dModel: 40, dHead: 12, seq: 17, mask: false });
    await check({ layers: 2, heads: 3, dModel: 48, dHead: 8, seq: 5, cross: true, contextSeq: 11 });
  });
  it('biases', async () => {
    await check({ layers: 1, heads: 2, dModel: 40, dHead: 12, seq: 9, bias: true });
  });
});
