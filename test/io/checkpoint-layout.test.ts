// Checkpoint layouts: GPT-2's and OPT's names (with or without their prefixes) against config.json,
// every refusal one line naming the tensor, and the re-layout into the engine's [out, in] form.

import { describe, expect, it } from 'vitest';
import { CheckpointError, parseCheckpointConfig, type CheckpointConfig } from '../../src/io/checkpoint-config.js';
import { assembleLayer, checkpointLayout, layoutNotes, transposeColumns } from '../../src/io/checkpoint-layout.js';

const GPT2 = parseCheckpointConfig({ model_type: 'gpt2', n_layer: 2, n_head: 2, n_embd: 6, n_positions: 5, vocab_size: 11, n_inner: 7 });
const OPT = parseCheckpointConfig({ model_type: 'opt', num_hidden_layers: 2, num_attention_heads: 2, hidden_size: 6, ffn_dim: 7, max_position_embeddings: 5, vocab_size: 11 });

/** Every tensor of a GPT-2 checkpoint with its shape, as GPT2LMHeadModel saves it. */
function gpt2Names(c: CheckpointConfig, prefix = '', extra: Record<string, number[]> = {}): Map<string, number[]> {
  const d = c.dModel;
  const m = new Map<string, number[]>([[`${prefix}wte.weight`, [c.vocab, d]], [`${prefix}wpe.weight`, [c.positions, d]], [`${prefix}ln_f.weight`, [d]], [`${prefix}ln_f.bias`, [d]]]);
  for (let l = 0; l < c.layers; l++) {
    const h = `${prefix}h.${l}.`;
    for (const ln of ['ln_1', 'ln_2']) m.set(`${h}${ln}.weight`, [d]).set(`${h}${ln}.bias`, [d]);
    m.set(`${h}attn.c_attn.weight`, [d, 3 * d]).set(`${h}attn.c_attn.bias`, [3 * d]).set(`${h}attn.c_proj.weight`, [d, d]).set(`${h}attn.c_proj.bias`, [d]);
    m.set(`${h}mlp.c_fc.weight`, [d, c.ffn]).set(`${h}mlp.c_fc.bias`, [c.ffn]).set(`${h}mlp.c_proj.weight`, [c.ffn, d]).set(`${h}mlp.c_proj.bias`, [d]);
    m.set(`${h}attn.bias`, [1, 1, c.positions, c.positions]).set(`${h}attn.masked_bias`, []);
  }
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}

function optNames(c: CheckpointConfig, prefix = 'model.decoder.', extra: Record<string, number[]> = {}): Map<string, number[]> {
  const d = c.dModel;
  const m = new Map<string, number[]>([[`${prefix}embed_tokens.weight`, [c.vocab, d]], [`${prefix}embed_positions.weight`, [c.positions + 2, d]],
    [`${prefix}final_layer_norm.weight`, [d]], [`${prefix}final_layer_norm.bias`, [d]]]);
  for (let l = 0; l < c.layers; l++) {
    const h = `${prefix}layers.${l}.`;
    for (const ln of ['self_attn_layer_norm', 'final_layer_norm']) m.set(`${h}${ln}.weight`, [d]).set(`${h}${ln}.bias`, [d]);
    for (const p of ['q', 'k', 'v', 'out']) m.set(`${h}self_attn.${p}_proj.weight`, [d, d]).set(`${h}self_attn.${p}_proj.bias`, [d]);
    m.set(`${h}fc1.weight`, [c.ffn, d]).set(`${h}fc1.bias`, [c.ffn]).set(`${h}fc2.weight`, [d, c.ffn]).set(`${h}fc2.bias`, [d]);
  }
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}

const layoutOf = (names: Map<string, number[]>, cfg: CheckpointConfig) => checkpointLayout(names.keys(), cfg, (n) => names.get(n), 'ckpt');

function refusal(names: Map<string, number[]>, cfg: CheckpointConfig, message: RegExp): void {
  let error: unknown;
  try {
    layoutOf(names, cfg);
  } catch (e) {
    error = e;
  }
  expect(error, `accepted; expected ${message}`).toBeInstanceOf(CheckpointError);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).toMatch(/^ckpt: /);
  expect((error as Error).message).not.toMatch(/[\n\p{Cc}\p{Cf}]/u);
}

describe('GPT-2 layout', () => {
  it.each(['', 'transformer.'])("prefix '%s': every tensor named, buffers reported, tied", (prefix) => {
    const layout = layoutOf(gpt2Names(GPT2, prefix), GPT2);
    expect(layout.prefix).toBe(prefix);
    expect(layout.specs).toHaveLength(4 + 2 * 12);
    expect(layout.layer(1).qkv!.weight).toBe(`${prefix}h.1.attn.c_attn.weight`);
    expect(layout.unembedding).toBeNull();
    expect(layout.buffers).toEqual([`${prefix}h.0.attn.bias`, `${prefix}h.0.attn.masked_bias`, `${prefix}h.1.attn.bias`, `${prefix}h.1.attn.masked_bias`]);
    expect(layout.ignored).toEqual([]);
    expect(layoutNotes(layout, 'ckpt')).toEqual([
      'ckpt: ignored 4 attention-mask buffers (h.{l}.attn.bias, .masked_bias): constants of the causal mask, not weights',
      'ckpt: no lm_head.weight; the unembedding is the token embedding (tied)',
    ]);
  });

  it('lm_head.weight is used when present; other tensors are reported', () => {
    const layout = layoutOf(gpt2Names(GPT2, 'transformer.', { 'lm_head.weight': [11, 6], 'transformer.extra\u001b': [2] }), GPT2);
    expect(layout.unembedding).toBe('lm_head.weight');
    expect(layoutNotes(layout, 'ckpt')[1]).toBe("ckpt: ignored 1 tensor the run does not use, e.g. 'transformer.extra\\x1b'");
  });

  it('refusals name the tensor', () => {
    const missing = gpt2Names(GPT2);
    missing.delete('h.1.mlp.c_fc.bias');
    refusal(missing, GPT2, /^ckpt: no tensor 'h\.1\.mlp\.c_fc\.bias' \(layer 1 of n_layer 2\) in the GPT-2 layout$/);
    refusal(gpt2Names(GPT2, '', { 'h.0.attn.c_attn.weight': [18, 6] }), GPT2,
      /tensor 'h\.0\.attn\.c_attn\.weight' has shape \[18, 6\] but config\.json gives \[6, 18\] \(n_embd 6, 3·n_embd \(Conv1D \[in, out\]\)\)/);
    refusal(gpt2Names(GPT2, '', { 'wte.weight': [12, 6] }), GPT2, /tensor 'wte\.weight' has shape \[12, 6\] but config\.json gives \[11, 6\] \(vocab_size 11, n_embd 6\)/);
    refusal(gpt2Names(GPT2, '', { 'h.0.mlp.c_fc.weight': [6, 8] }), GPT2, /'h\.0\.mlp\.c_fc\.weight' has shape \[6, 8\] but config\.json gives \[6, 7\] \(n_embd 6, n_inner 7\)/);
    refusal(gpt2Names(GPT2, '', { 'h.2.ln_1.weight': [6] }), GPT2, /tensor 'h\.2\.ln_1\.weight' is in layer 2, beyond n_layer 2 in config\.json/);
    refusal(new Map([...gpt2Names(GPT2), ...gpt2Names(GPT2, 'transformer.')]), GPT2, /holds both 'wte\.weight' and 'transformer\.wte\.weight'/);
    refusal(gpt2Names({ ...GPT2, tied: false }), { ...GPT2, tied: false }, /tie_word_embeddings false but the files hold no 'lm_head\.weight'/);
    refusal(optNames(OPT), GPT2, /no 'wte\.weight' or 'transformer\.wte\.weight': not a GPT-2 layout as config\.json's model_type says; .* \(an OPT layout\?\)/);
    refusal(new Map([['layers.0.self_attn.q_proj.weight', [6, 6]]]), GPT2, /this project's own layout: run it with --weights FILE/);
  });
});

describe('OPT layout', () => {
  it.each(['model.decoder.', 'decoder.'])("prefix '%s': per-layer final_layer_norm is LN2, positions have 2 more rows", (prefix) => {
    const layout = layoutOf(optNames(OPT, prefix), OPT);
    expect(layout.prefix).toBe(prefix);
    expect(layout.layer(0).ln2Gain).toBe(`${prefix}layers.0.final_layer_norm.weight`);
    expect(layout.finalGain).toBe(`${prefix}final_layer_norm.weight`);
    expect(layout.specs.find((s) => s.name === layout.positionEmbedding)!.shape).toEqual([7, 6]);
    expect(layout.buffers).toEqual([]);
  });

  it('refusals name the tensor', () => {
    refusal(optNames(OPT, 'model.decoder.', { 'model.decoder.embed_positions.weight': [5, 6] }), OPT,
      /'model\.decoder\.embed_positions\.weight' has shape \[5, 6\] but config\.json gives \[7, 6\] \(max_position_embeddings 5 \+ 2, hidden_size 6\)/);
    refusal(optNames(OPT, 'model.decoder.', { 'model.decoder.project_in.weight': [6, 4] }), OPT, /'model\.decoder\.project_in\.weight' is an embedding projection/);
    const missing = optNames(OPT);
    missing.delete('model.decoder.layers.0.self_attn.out_proj.weight');
    refusal(missing, OPT, /no tensor 'model\.decoder\.layers\.0\.self_attn\.out_proj\.weight' \(layer 0 of num_hidden_layers 2\) in the OPT layout/);
    refusal(gpt2Names(GPT2), OPT, /\(a GPT-2 layout\?\)/);
  });
});

describe('re-layout into [out, in]', () => {
  const fill = (shape: number[], f: (i: number) => number) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i));

  it("GPT-2: Conv1D [in, out] transposed, c_attn split into q | k | v", () => {
    const names = gpt2Names(GPT2);
    const layout = layoutOf(names, GPT2);
    // Each element's value encodes its tensor and its position.
    const values = new Map([...names].map(([n, s], k) => [n, fill(s, (i) => k * 1000 + i)]));
    const t = assembleLayer(layout, GPT2, 1, (n) => values.get(n)!);
    const d = 6;
    const W = values.get('h.1.attn.c_attn.weight')!; // [d, 3d]
    for (let o = 0; o < d; o++) {
      for (let i = 0; i < d; i++) {
        expect(t.q[o * d + i]).toBe(W[i * 3 * d + o]);
        expect(t.k[o * d + i]).toBe(W[i * 3 * d + d + o]);
        expect(t.v[o * d + i]).toBe(W[i * 3 * d + 2 * d + o]);
        expect(t.o[o * d + i]).toBe(values.get('h.1.attn.c_proj.weight')![i * d + o]);
      }
    }
    const b = values.get('h.1.attn.c_attn.bias')!;
    expect([...t.kBias]).toEqual([...b.slice(d, 2 * d)]);
    const fc = values.get('h.1.mlp.c_fc.weight')!; // [d, ffn]
    expect(t.fc1.length).toBe(7 * d);
    expect(t.fc1[3 * d + 2]).toBe(fc[2 * 7 + 3]); // fc1[out 3][in 2] = c_fc[in 2][out 3]
    const proj = values.get('h.1.mlp.c_proj.weight')!; // [ffn, d]
    expect(t.fc2[4 * 7 + 5]).toBe(proj[5 * d + 4]); // fc2[out 4][in 5] = c_proj[in 5][out 4]
    expect(t.lnGain).toBe(values.get('h.1.ln_1.weight'));
    expect(t.mlpLnBias).toBe(values.get('h.1.ln_2.bias'));
  });

  it('OPT: Linear weights as they are', () => {
    const names = optNames(OPT);
    const values = new Map([...names].map(([n, s], k) => [n, fill(s, (i) => k * 1000 + i)]));
    const t = assembleLayer(layoutOf(names, OPT), OPT, 0, (n) => values.get(n)!);
    expect(t.q).toBe(values.get('model.decoder.layers.0.self_attn.q_proj.weight'));
    expect(t.o).toBe(values.get('model.decoder.layers.0.self_attn.out_proj.weight'));
    expect(t.mlpLnGain).toBe(values.get('model.decoder.layers.0.final_layer_norm.weight'));
    expect(t.fc2Bias).toBe(values.get('model.decoder.layers.0.fc2.bias'));
  });

  it('transposeColumns', () => {
    expect([...transposeColumns(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3, 1, 2)]).toEqual([2, 5, 3, 6]);
  });
});
