// A whole model on the GPU (RunOptions.model): x = token embedding + learned position computed by
// shaders/embed.wgsl, the layer stack, then LN_f of the last token and logits = unembedding·LN_f(x)
// in row chunks; each end checked against float64 (src/verify/model-ends.ts) and the layers layer
// by layer from the GPU's own embedded x. Tables and tokens random per run (a failure prints the
// seed); vocabularies and widths no multiple of any tile; tied and untied unembeddings, f32 and
// f16, tables bound in row chunks. Planted: an off-by-one position offset, a skipped final bias,
// each fails its check; bad tokens are refused before any GPU work, naming the limit.
import { describe, expect, it } from 'vitest';
import { freshSeed, rng, useEngine } from '../helpers/gpu.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import type { RunOptions } from '../../src/model/engine.js';
import type { ModelTensors } from '../../src/model/weights.js';
import { InputError } from '../../src/gpu/errors.js';
import { verifyExactLayers } from '../../src/verify/exact.js';
import { checkEmbedding, checkLogits, checkModelEnds, withModelEnds } from '../../src/verify/model-ends.js';
import { embed, finalLogits, topTokens } from '../../src/reference/model-ends.js';

const engine = useEngine();

function randomModel(seed: number, dModel: number, vocab: number, positionRows: number, positionOffset: number, tied: boolean): ModelTensors {
  const next = rng(seed);
  const table = (n: number, scale: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
  const tokenEmbedding = table(vocab * dModel, 0.5);
  return {
    vocab, tokenEmbedding, positionEmbedding: table(positionRows * dModel, 0.2), positionOffset,
    finalGain: table(dModel, 0.1).map((g) => Math.fround(1 + g)), finalBias: table(dModel, 0.1),
    unembedding: tied ? tokenEmbedding : table(vocab * dModel, 0.5),
  };
}

function randomTokens(seed: number, n: number, vocab: number): Uint32Array {
  const next = rng(seed + 7);
  const t = Uint32Array.from({ length: n }, () => Math.floor(next() * vocab));
  t[0] = vocab - 1; // the table's last row (the last chunk's last row when chunked)
  if (n > 1) t[1] = 0;
  return t;
}

const FULL: Partial<AttentionConfig> = { layers: 2, heads: 2, dModel: 40, dHead: 12, seq: 9, block: 'full', norm: 'layernorm', ffn: 75, bias: true };

async function runModel(partial: Partial<AttentionConfig>, seed: number, tensors: ModelTensors, options: RunOptions = {}) {
  const tokens = randomTokens(seed, partial.seq!, tensors.vocab);
  const states: Float32Array[] = [];
  const result = await engine().run(partial, {
    seed, ...options, model: { tensors, tokens }, onLayer: async (_p, probe) => void states.push(await probe.readOutput()),
  });
  return { result, tokens, states };
}

describe('model runs: embedding and logits on the GPU against float64', () => {
  it.each([
    ['block full, tied unembedding, f32', FULL, true, 'f32', {}],
    ['block attention, untied, f32, tables in row chunks', { ...FULL, block: 'attention' as const }, false, 'f32', { limits: { maxStorageBufferBindingSize: 16 * 1024 } }],
    ['block full, untied, f16, tables in row chunks', FULL, false, 'f16', { limits: { maxStorageBufferBindingSize: 16 * 1024 } }],
  ] as const)('%s', async (_name, partial, tied, precision, options) => {
    const seed = freshSeed();
    const tensors = randomModel(seed, 40, 301, 20, 2, tied);
    const cfg = resolveConfig({ ...partial, precision });
    const { result, tokens, states } = await runModel(cfg, seed, tensors, { ...options, attention: 'materialized' });
    if ('limits' in options) expect(result.plan.vocabChunkRows, `seed ${seed}`).toBeLessThan(301);
    expect(result.embedded, `seed ${seed}`).not.toBeNull();
    expect(result.logits, `seed ${seed}`).toHaveLength(301);
    const [emb, lg] = checkModelEnds(cfg, { tensors, tokens }, result);
    expect(emb!.passed, `seed ${seed} embedding: ${emb!.detail}`).toBe(true);
    expect(lg!.passed, `seed ${seed} logits: ${lg!.detail}`).toBe(true);
    expect(lg!.worstRatio, `seed ${seed}`).toBeLessThan(0.5);
    // The layers, from the GPU's own embedded x.
    const layers = await verifyExactLayers(cfg, { kind: 'seeded', seed }, { x: result.embedded!, context: null }, [result.embedded!, ...states]);
    expect(layers.passed, `seed ${seed}: ${layers.detail}`).toBe(true);
    const v = withModelEnds(layers, [emb!, lg!]);
    expect(v.passed).toBe(true);
    expect(v.embedding?.passed && v.logits?.passed).toBe(true);
    // The next token: the GPU's best is the float64 best from the same last row.
    const ref = finalLogits(tensors, result.output.subarray(8 * 40), 40, cfg.lnEps).logits;
    const gpuTop = topTokens(result.logits!, 3).map((t) => t.id);
    if (precision === 'f32') expect(gpuTop, `seed ${seed}`).toEqual(topTokens(ref, 3).map((t) => t.id));
  });

  it('planted: an off-by-one position offset, a wrong token row and a skipped final bias each fail', async () => {
    const seed = freshSeed();
    const tensors = randomModel(seed, 40, 301, 20, 2, true);
    const cfg = resolveConfig(FULL);
    // The GPU reads positions from row 3 (the reference: 2).
    const shifted = await runModel(cfg, seed, { ...tensors, positionOffset: 3 });
    const c1 = checkEmbedding(cfg, tensors, shifted.tokens, shifted.result.embedded!);
    expect(c1.passed, `seed ${seed}: ${c1.detail}`).toBe(false);
    expect(c1.worstRatio).toBeGreaterThan(1e3);
    // The honest GPU embedding against a reference one row off either way.
    const honest = await runModel(cfg, seed, tensors);
    expect(checkEmbedding(cfg, tensors, honest.tokens, honest.result.embedded!).passed, `seed ${seed}`).toBe(true);
    expect(checkEmbedding(cfg, tensors, honest.tokens, honest.result.embedded!, 1).passed, `seed ${seed}`).toBe(false);
    expect(checkEmbedding(cfg, tensors, honest.tokens, honest.result.embedded!, -1).passed, `seed ${seed}`).toBe(false);
    const wrongToken = Uint32Array.from(honest.tokens, (t, i) => (i === 4 ? (t + 1) % 301 : t));
    expect(checkEmbedding(cfg, tensors, wrongToken, honest.result.embedded!).passed, `seed ${seed}`).toBe(false);
    // The GPU without the final LayerNorm's bias.
    const noBias = await runModel(cfg, seed, { ...tensors, finalBias: new Float32Array(40) });
    const c2 = checkLogits(cfg, tensors, noBias.result.output, noBias.result.logits!);
    expect(c2.passed, `seed ${seed}: ${c2.detail}`).toBe(false);
    // And its embedding is still right: the ends are checked apart.
    expect(checkEmbedding(cfg, tensors, noBias.tokens, noBias.result.embedded!).passed).toBe(true);
    expect(withModelEnds({ mode: 'exact', passed: true, maxAbsError: 0, maxRelError: 0, worstRatio: 0, tolerance: '', failedLayers: [], detail: '' }, [c2]).passed).toBe(false);
  });

  it('the float64 embedding is the sum of the rows', () => {
    const t = randomModel(5, 4, 7, 6, 2, true);
    const x = embed(t, [3, 6], 4);
    for (let d = 0; d < 4; d++) {
      expect(x[d]).toBe(t.tokenEmbedding[3 * 4 + d]! + t.positionEmbedding[2 * 4 + d]!);
      expect(x[4 + d]).toBe(t.tokenEmbedding[6 * 4 + d]! + t.positionEmbedding[3 * 4 + d]!);
    }
  });
});

describe('model runs: bad tokens and tables refused before any GPU work', () => {
  const tensors = randomModel(3, 40, 301, 20, 2, true);
  const cfg = resolveConfig(FULL);
  const tokens = new Uint32Array(9).fill(5);
  it.each([
    ['a token id at the vocabulary size', { tensors, tokens: Uint32Array.from(tokens, (t, i) => (i === 3 ? 301 : t)) }, cfg, /token id 301 at position 3 is not below the vocabulary size 301/],
    ['more tokens than positions', { tensors, tokens: new Uint32Array(19) }, { ...cfg, seq: 19 }, /19 tokens need 21 position rows \(from row 2\), but the model has 20: at most 18 tokens/],
    ['tokens and --seq disagree', { tensors, tokens: new Uint32Array(8) }, cfg, /8 token\(s\) given, but --seq is 9/],
    ['a token table of the wrong width', { tensors: { ...tensors, tokenEmbedding: new Float32Array(301 * 39), unembedding: new Float32Array(301 * 39) }, tokens }, cfg, /the token embedding has 11739 elements, expected \[301, 40\]/],
    ['a NaN in the position table', { tensors: { ...tensors, positionEmbedding: tensors.positionEmbedding.map((v, i) => (i === 17 ? Number.NaN : v)) }, tokens }, cfg, /the position embedding holds NaN at index 17/],
  ] as const)('%s', async (_name, model, config, message) => {
    expect(() => engine().plan(config, { model })).toThrow(InputError);
    await expect(engine().run(config, { model })).rejects.toThrow(message);
  });
  it('with f16 storage, a table value beyond f16\'s range is refused (it would become Inf)', async () => {
    const big = { ...tensors, positionEmbedding: tensors.positionEmbedding.map((v, i) => (i === 33 ? 70000 : v)) };
    expect(() => engine().plan({ ...cfg, precision: 'f16' }, { model: { tensors: big, tokens } })).toThrow(/the position embedding holds 70000 at index 33, beyond f16's range \(±65504\)/);
    expect(() => engine().plan(cfg, { model: { tensors: big, tokens } })).not.toThrow();
  });
  it('inputs and a model together are refused', async () => {
    await expect(engine().run(cfg, { model: { tensors, tokens }, inputs: { x: new Float32Array(9 * 40), context: null } })).rejects.toThrow(/give RunOptions.model or inputs, not both/);
  });
});
