// @module-tag slow (GPT-2 small's 154 MB token table): `npm test` runs it, `npm run test:fast` does not.
// GPT-2 small's tables at their real sizes: the 50257×768 f32 token embedding (154 MB) is over
// lavapipe's 128 MiB storage binding, so the embedding and the tied unembedding are bound in row
// chunks; x and the logits checked against float64 (src/verify/model-ends.ts). One layer of the
// full block at GPT-2's widths on seeded weights, 8 tokens including the table's first and last.
import { expect, it } from 'vitest';
import { freshSeed, rng, useEngine } from '../helpers/gpu.js';
import { resolveConfig } from '../../src/model/config.js';
import type { ModelTensors } from '../../src/model/weights.js';
import { checkModelEnds } from '../../src/verify/model-ends.js';

const engine = useEngine();

it('GPT-2 small tables (50257 × 768, 1024 positions): embedding and logits pass, the tables bound in chunks', async () => {
  const seed = freshSeed();
  const next = rng(seed);
  const D = 768, vocab = 50257;
  const table = (n: number, scale: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (2 * next() - 1) * scale;
    return a;
  };
  const tokenEmbedding = table(vocab * D, 0.1);
  const tensors: ModelTensors = {
    vocab, tokenEmbedding, positionEmbedding: table(1024 * D, 0.02), positionOffset: 0,
    finalGain: table(D, 0.1).map((g) => 1 + g), finalBias: table(D, 0.1), unembedding: tokenEmbedding,
  };
  const tokens = Uint32Array.from([vocab - 1, 0, 15496, 995, 257, 1, 50000, 31373]);
  const cfg = resolveConfig({ layers: 1, heads: 12, dModel: D, dHead: 64, seq: tokens.length, maxSeq: 1024, block: 'full', norm: 'layernorm', bias: true });
  const result = await engine().run(cfg, { seed, model: { tensors, tokens } });
  const binding = engine().gpu.limits.maxStorageBufferBindingSize;
  if (vocab * D * 4 > binding) expect(result.plan.vocabChunkRows, `seed ${seed}`).toBeLessThan(vocab);
  for (const c of checkModelEnds(cfg, { tensors, tokens }, result)) expect(c.passed, `seed ${seed} ${c.name}: ${c.detail}`).toBe(true);
}, 300_000);
