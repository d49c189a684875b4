// config.json → the model's shape, and the published parameter totals from the published configs
// (test/golden/configs: GPT-2 small to XL as Hugging Face publishes them; OPT-175B's dimensions in
// the fields of OPT's config.json). Every refusal is one line naming the field.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CheckpointError, checkpointParameters, parseCheckpointConfig, parseCheckpointConfigText } from '../../src/io/checkpoint-config.js';
import { GOLDEN_DIR } from '../helpers/golden.js';

const published = (name: string): Record<string, unknown> => JSON.parse(readFileSync(`${GOLDEN_DIR}configs/${name}.config.json`, 'utf8'));

function refusal(json: unknown, message: RegExp): void {
  let error: unknown;
  try {
    parseCheckpointConfig(json, 'ckpt/config.json');
  } catch (e) {
    error = e;
  }
  expect(error, `accepted; expected ${message}`).toBeInstanceOf(CheckpointError);
  const text = (error as Error).message;
  expect(text).toMatch(message);
  expect(text).toMatch(/^ckpt\/config\.json: /);
  expect(text).not.toMatch(/[\n\r\p{Cc}\p{Cf}]/u);
}

describe('published totals', () => {
  // Tied unembedding counted once; figures from Hugging Face's model cards / num_parameters().
  it.each([
    ['gpt2', 124_439_808],
    ['gpt2-medium', 354_823_168],
    ['gpt2-large', 774_030_080],
    ['gpt2-xl', 1_557_611_200],
    ['opt-125m', 125_239_296],
  ])('%s: %d parameters', (name, total) => {
    const cfg = parseCheckpointConfig(published(name));
    expect(checkpointParameters(cfg).total).toBe(total);
  });

  it("OPT-175B: GPT-3's shape, 57,982,058,496 attention weights (4·d_model²·layers), 174.6 B in all", () => {
    const cfg = parseCheckpointConfig(published('opt-175b'));
    expect(cfg).toMatchObject({ family: 'opt', layers: 96, heads: 96, dModel: 12288, dHead: 128, ffn: 49152, vocab: 50272, positions: 2048, positionRows: 2050, positionOffset: 2, activation: 'relu', lnEps: 1e-5, tied: true });
    const p = checkpointParameters(cfg);
    expect(p.attentionWeights).toBe(57_982_058_496);
    // 96·(4d² + 4d + 4d + 2·d·ffn + ffn + d) + vocab·d + 2050·d + 2d, by hand (python).
    expect(p.total).toBe(174_604_468_224);
  });

  it('GPT-2: widths, eps, activation and tied unembedding from the config; n_inner null is 4·n_embd', () => {
    const cfg = parseCheckpointConfig(published('gpt2'));
    expect(cfg).toEqual({ family: 'gpt2', layers: 12, heads: 12, dModel: 768, dHead: 64, ffn: 3072, vocab: 50257, positions: 1024, positionRows: 1024, positionOffset: 0, lnEps: 1e-5, activation: 'gelu_new', tied: true });
    expect(parseCheckpointConfig({ ...published('gpt2'), n_inner: 1000, layer_norm_epsilon: 1e-6 })).toMatchObject({ ffn: 1000, lnEps: 1e-6 });
    // An untied lm_head is counted.
    expect(checkpointParameters(parseCheckpointConfig({ ...published('gpt2'), tie_word_embeddings: false })).total).toBe(124_439_808 + 50257 * 768);
    // HF's attribute_map names work as well.
    const { n_embd: _a, n_head: _b, n_layer: _c, n_positions: _d, ...rest } = published('gpt2');
    expect(parseCheckpointConfig({ ...rest, hidden_size: 768, num_attention_heads: 12, num_hidden_layers: 12, max_position_embeddings: 1024 }).dModel).toBe(768);
    expect(parseCheckpointConfig({ ...published('gpt2'), activation_function: 'gelu_pytorch_tanh' }).activation).toBe('gelu_new');
  });
});

describe('refusals name the field', () => {
  const opt = published('opt-175b');
  const gpt2 = published('gpt2');
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['OPT-350m (post-LayerNorm)', published('opt-350m'), /do_layer_norm_before false \(post-LayerNorm, as OPT-350m\)/],
    ['an embedding projection', { ...opt, word_embed_proj_dim: 512 }, /word_embed_proj_dim 512 differs from hidden_size 12288/],
    ['llama', { ...opt, model_type: 'llama' }, /model_type "llama" is not supported: rotary position embeddings.*grouped-query/],
    ['an unknown family', { model_type: 'my\u001b[2Jmodel' }, /model_type "my\\\\u001b\[2Jmodel" is not supported; the engine runs GPT-2 and OPT/],
    ['no model_type', { n_embd: 4 }, /no model_type/],
    ['grouped-query heads', { ...opt, num_key_value_heads: 8 }, /num_key_value_heads 8 differs from the 96 attention heads/],
    ['rotary fields', { ...gpt2, rotary_dim: 64 }, /rotary_dim 64: only learned absolute positions/],
    ['the erf GELU', { ...gpt2, activation_function: 'gelu' }, /activation_function "gelu" is not supported/],
    ['no activation string', { ...opt, activation_function: 3 }, /activation_function 3 is not supported/],
    ['a missing width', { ...opt, hidden_size: undefined }, /no hidden_size/],
    ['a fractional width', { ...gpt2, n_embd: 76.5 }, /n_embd must be a positive integer, got 76.5/],
    ['a string width', { ...gpt2, n_layer: '12' }, /n_layer must be a positive integer, got "12"/],
    // issue 21: numbers bounded before anything is built from them (n_layer 10^7 took a minute and 4 GB)
    ['a billion layers', { ...gpt2, n_layer: 1e9 }, /n_layer 1000000000 is over the 65536 allowed/],
    ['a width of 2^40', { ...gpt2, n_embd: 2 ** 40 }, /n_embd 1099511627776 is over the 16777216 allowed/],
    ['a huge vocabulary', { ...opt, vocab_size: 2 ** 30 }, /vocab_size 1073741824 is over the 16777216 allowed/],
    ['heads that do not divide', { ...gpt2, n_head: 7 }, /n_embd 768 does not split into n_head 7 heads/],
    ['aliases that disagree', { ...gpt2, hidden_size: 1024 }, /n_embd 768 and hidden_size 1024 disagree/],
    ['LayerNorm without parameters', { ...opt, layer_norm_elementwise_affine: false }, /layer_norm_elementwise_affine false/],
    ['OPT without biases', { ...opt, enable_bias: false }, /enable_bias false/],
    ['a bad epsilon', { ...gpt2, layer_norm_epsilon: -1 }, /layer_norm_epsilon must be a number in \(0, 1\), got -1/],
    ['a layer-scaled attention', { ...gpt2, scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx true/],
    ['no score scale', { ...gpt2, scale_attn_weights: false }, /scale_attn_weights false/],
    ['cross-attention', { ...gpt2, add_cross_attention: true }, /add_cross_attention true/],
  ])('%s', (_what, json, message) => refusal(json, message));

  it('text that is not JSON, or not an object', () => {
    expect(() => parseCheckpointConfigText('{"model_type": "gpt2",', 'c.json')).toThrow(/^c\.json: not valid JSON/);
    expect(() => parseCheckpointConfigText('[1]', 'c.json')).toThrow(/^c\.json: not a JSON object$/);
  });
});
