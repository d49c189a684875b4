// Where a run's weights and inputs come from: generated from a seed (on the GPU for weights,
// so nothing crosses the bus), or given as tensors (read from safetensors files, or by a caller).

import type { AttentionConfig } from './config.js';
import { innerWidth } from './config.js';
import { InputError } from '../gpu/errors.js';

/** One layer's projections in PyTorch Linear layout [out, in]. */
export interface LayerTensors {
  q: Float32Array; // [heads·dHead, dModel]
  k: Float32Array; // [heads·dHead, dModel]
  v: Float32Array; // [heads·dHead, dModel]
  o: Float32Array; // [dModel, heads·dHead]
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  oBias?: Float32Array;
  /** The pre-attention LayerNorm (input_layernorm.weight, .bias), [dModel] each, for norm 'layernorm'. */
  lnGain?: Float32Array;
  lnBias?: Float32Array;
  /** LN2, before the MLP (GPT-2 ln_2, OPT layers.{l}.final_layer_norm), [dModel] each: block 'full'. */
  mlpLnGain?: Float32Array;
  mlpLnBias?: Float32Array;
  /** The MLP's first Linear [ffn, dModel] and bias [ffn] (GPT-2 mlp.c_fc transposed by the loader, OPT fc1). */
  fc1?: Float32Array;
  fc1Bias?: Float32Array;
  /** The MLP's second Linear [dModel, ffn] and bias [dModel] (GPT-2 mlp.c_proj transposed, OPT fc2). */
  fc2?: Float32Array;
  fc2Bias?: Float32Array;
}

/** A whole model's tensors outside the layers: embeddings in, final LayerNorm and unembedding out. */
export interface ModelTensors {
  vocab: number;
  /** [vocab, dModel]: wte / embed_tokens. */
  tokenEmbedding: Float32Array;
  /** [rows, dModel]: wpe / embed_positions (all rows as in the file). */
  positionEmbedding: Float32Array;
  /** Row of position 0: GPT-2 0, OPT 2. */
  positionOffset: number;
  /** [dModel]: ln_f / decoder.final_layer_norm. */
  finalGain: Float32Array;
  finalBias: Float32Array;
  /** [vocab, dModel]: lm_head.weight, or the same array as tokenEmbedding when tied. */
  unembedding: Float32Array;
}

export type WeightSource =
  | { kind: 'seeded'; seed: number }
  /** Called once per layer, in order; may load lazily (a file streamed layer by layer). */
  | { kind: 'tensors'; layer: (index: number) => LayerTensors | Promise<LayerTensors> };

export interface Inputs {
  x: Float32Array; // [seq, dModel]
  context: Float32Array | null; // [kvSeq, dModel] for cross-attention
}

/** Checks a layer's tensors against the config: names the tensor, expected and actual sizes. */
export function checkLayerTensors(t: LayerTensors, cfg: AttentionConfig, layer: number): void {
  const inner = innerWidth(cfg);
  const dims = `--heads ${cfg.heads} --d-head ${cfg.dHead} --d-model ${cfg.dModel}`;
  const expect = (name: string, data: Float32Array | undefined, rows: number, cols: number, optional = false, flags = dims) => {
    if (!data) {
      if (optional) return;
      throw new InputError(`layer ${layer}: weight ${name} is missing`);
    }
    if (data.length !== rows * cols) {
      throw new InputError(
        `layer ${layer}: weight ${name} has ${data.length} elements, expected [${rows}, ${cols}] = ${rows * cols} for ${flags}`,
      );
    }
    assertFiniteArray(`layer ${layer} ${name}`, data);
    // LayerNorm's gain and bias stay f32; every other weight is stored as f16 with f16 precision.
    if (cfg.precision === 'f16' && !/layernorm/.test(name)) assertF16Range(`layer ${layer} ${name}`, data);
  };
  expect('q_proj.weight', t.q, inner, cfg.dModel);
  expect('k_proj.weight', t.k, inner, cfg.dModel);
  expect('v_proj.weight', t.v, inner, cfg.dModel);
  expect('o_proj.weight', t.o, cfg.dModel, inner);
  if (cfg.bias) {
    expect('q_proj.bias', t.qBias, 1, inner);
    expect('k_proj.bias', t.kBias, 1, inner);
    expect('v_proj.bias', t.vBias, 1, inner);
    expect('o_proj.bias', t.oBias, 1, cfg.dModel);
  }
  if (cfg.norm === 'layernorm') {
    expect('input_layernorm.weight', t.lnGain, 1, cfg.dModel);
    expect('input_layernorm.bias', t.lnBias, 1, cfg.dModel);
  }
  if (cfg.block === 'full') {
    const mlp = `--d-model ${cfg.dModel} and an MLP width of ${cfg.ffn}`;
    expect('mlp_layernorm.weight (LN2)', t.mlpLnGain, 1, cfg.dModel, false, mlp);
    expect('mlp_layernorm.bias (LN2)', t.mlpLnBias, 1, cfg.dModel, false, mlp);
    expect('fc1.weight', t.fc1, cfg.ffn, cfg.dModel, false, mlp);
    expect('fc1.bias', t.fc1Bias, 1, cfg.ffn, false, mlp);
    expect('fc2.weight', t.fc2, cfg.dModel, cfg.ffn, false, mlp);
    expect('fc2.bias', t.fc2Bias, 1, cfg.dModel, false, mlp);
  }
}

export function checkInputs(inputs: Inputs, cfg: AttentionConfig): void {
  if (inputs.x.length !== cfg.seq * cfg.dModel) {
    throw new InputError(`input x has ${inputs.x.length} elements, expected [${cfg.seq}, ${cfg.dModel}] (--seq × --d-model)`);
  }
  assertFiniteArray('input x', inputs.x);
  if (cfg.cross) {
    if (!inputs.context) throw new InputError('cross-attention needs a context sequence (tensor `context`)');
    if (inputs.context.length !== cfg.kvSeq * cfg.dModel) {
      throw new InputError(
        `input context has ${inputs.context.length} elements, expected [${cfg.kvSeq}, ${cfg.dModel}] (--kv-seq × --d-model)`,
      );
    }
    assertFiniteArray('input context', inputs.context);
  }
}

export function assertFiniteArray(name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new InputError(`${name} holds ${data[i]} at index ${i}: inputs must be finite`);
  }
}

/**
 * Checks a whole model's tables and tokens against the config before any GPU work (RunOptions.model):
 * shapes, token ids below the vocabulary, enough position rows for seq tokens from positionOffset,
 * finite values. Each message names the tensor or the limit.
 */
export function checkModel(model: { tensors: ModelTensors; tokens: Uint32Array }, cfg: AttentionConfig): void {
  const t = model.tensors;
  const D = cfg.dModel;
  if (cfg.cross) throw new InputError('a model run (token embeddings in, logits out) is self-attention: --cross does not apply');
  if (!Number.isInteger(t.vocab) || t.vocab < 1) throw new InputError(`the model's vocabulary size must be a positive integer, got ${String(t.vocab)}`);
  if (!(model.tokens instanceof Uint32Array)) throw new InputError('model tokens must be a Uint32Array of token ids');
  if (model.tokens.length !== cfg.seq) throw new InputError(`${model.tokens.length} token(s) given, but --seq is ${cfg.seq}: they must agree`);
  const shape = (name: string, a: Float32Array | undefined, rows: number) => {
    if (!(a instanceof Float32Array) || a.length !== rows * D) {
      throw new InputError(`${name} has ${a?.length ?? 'no'} elements, expected [${rows}, ${D}] = ${rows * D} for a vocabulary of ${t.vocab} and --d-model ${D}`);
    }
  };
  shape('the token embedding', t.tokenEmbedding, t.vocab);
  shape('the unembedding', t.unembedding, t.vocab);
  shape('the final LayerNorm gain', t.finalGain, 1);
  shape('the final LayerNorm bias', t.finalBias, 1);
  if (!(t.positionEmbedding instanceof Float32Array) || t.positionEmbedding.length % D !== 0 || t.positionEmbedding.length === 0) {
    throw new InputError(`the position embedding has ${t.positionEmbedding?.length ?? 'no'} elements, not a whole number of rows of --d-model ${D}`);
  }
  const rows = t.positionEmbedding.length / D;
  if (!Number.isInteger(t.positionOffset) || t.positionOffset < 0) throw new InputError(`the position offset must be a non-negative integer, got ${String(t.positionOffset)}`);
  if (cfg.seq + t.positionOffset > rows) {
    throw new InputError(`${cfg.seq} tokens need ${cfg.seq + t.positionOffset} position rows (from row ${t.positionOffset}), but the model has ${rows}: at most ${rows - t.positionOffset} tokens`);
  }
  for (let i = 0; i < model.tokens.length; i++) {
    if (model.tokens[i]! >= t.vocab) throw new InputError(`token id ${model.tokens[i]} at position ${i} is not below the vocabulary size ${t.vocab}`);
  }
  assertFiniteArray('the token embedding', t.tokenEmbedding);
  assertFiniteArray('the position embedding', t.positionEmbedding);
  if (t.unembedding !== t.tokenEmbedding) assertFiniteArray('the unembedding', t.unembedding);
  assertFiniteArray('the final LayerNorm gain', t.finalGain);
  assertFiniteArray('the final LayerNorm bias', t.finalBias);
  if (cfg.precision === 'f16') {
    assertF16Range('the token embedding', t.tokenEmbedding);
    assertF16Range('the position embedding', t.positionEmbedding);
    if (t.unembedding !== t.tokenEmbedding) assertF16Range('the unembedding', t.unembedding);
  }
}

/** With f16 storage a value past ±65504 (after rounding: |v| ≥ 65520) would become ±Inf on the GPU: refused. */
export function assertF16Range(name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (Math.abs(data[i]!) >= 65520) throw new InputError(`${name} holds ${data[i]} at index ${i}, beyond f16's range (±65504): run it with --precision f32`);
  }
}
