// A Hugging Face checkpoint's config.json read as the shape of a GPT-2 or OPT model, or refused
// in one line naming the field. Pure TypeScript (no Node imports): the CLI and the page share it.
//
// What is read (HF's names; GPT-2's attribute_map aliases accepted, a contradiction refused):
//   GPT-2  n_layer, n_head, n_embd, n_inner (null: 4·n_embd), n_positions, vocab_size,
//          activation_function (gelu_new), layer_norm_epsilon (1e-5), tie_word_embeddings (true)
//   OPT    num_hidden_layers, num_attention_heads, hidden_size, ffn_dim, max_position_embeddings
//          (the table has 2 more rows: position p is row p + 2), vocab_size, activation_function
//          (relu), LayerNorm epsilon 1e-5 (OPT's nn.LayerNorm default), tie_word_embeddings (true)
// Refused: another model_type (rotary and grouped-query families named), OPT's post-LayerNorm
// (do_layer_norm_before false, OPT-350m) and embedding projection (word_embed_proj_dim ≠
// hidden_size), LayerNorm without parameters, OPT without biases, GPT-2's attention scalings
// other than 1/√d_head, cross-attention, an activation other than the tanh GELU or ReLU,
// grouped-query heads, widths that do not split into heads.

import { escapeControls, escapeUntrusted } from './escape.js';
import { InputError } from '../gpu/errors.js';
import { resolveConfig, type AttentionConfig, type BlockKind, type PrecisionKind } from '../model/config.js';

/** A checkpoint the engine cannot run as it is (one printable line; names the field or tensor). */
export class CheckpointError extends InputError {
  constructor(message: string) {
    super(escapeControls(message, 400));
    this.name = 'CheckpointError';
  }
}

export type CheckpointFamily = 'gpt2' | 'opt';
export type CheckpointActivation = 'gelu_new' | 'relu';

export interface CheckpointConfig {
  family: CheckpointFamily;
  layers: number;
  heads: number;
  dModel: number;
  dHead: number;
  /** The MLP's hidden width. */
  ffn: number;
  vocab: number;
  /** Longest sequence the model takes: n_positions / max_position_embeddings. */
  positions: number;
  /** Rows of the position-embedding table (OPT: positions + 2) and the row of position 0. */
  positionRows: number;
  positionOffset: number;
  lnEps: number;
  activation: CheckpointActivation;
  /** config.json's tie_word_embeddings: the unembedding is the token embedding unless lm_head.weight is in the files. */
  tied: boolean;
}

/** Families that are not this block, with why (the model_type is named in the refusal). */
/**
 * Bounds on config.json's numbers, checked before anything is built from them: the engine's limit
 * on any dimension (2^24, validateConfig), and for the layer count 65,536, since the tensors every
 * layer needs are listed before any file is read (a config with n_layer 10^9 would otherwise take
 * minutes and gigabytes before its first error).
 */
export const MAX_CONFIG_DIMENSION = 2 ** 24;
export const MAX_CONFIG_LAYERS = 65_536;

const OTHER_FAMILIES: Readonly<Record<string, string>> = {
  llama: 'rotary position embeddings, RMSNorm, gated MLP and grouped-query attention',
  mistral: 'rotary position embeddings and grouped-query attention',
  mixtral: 'rotary position embeddings, grouped-query attention and experts',
  qwen2: 'rotary position embeddings and grouped-query attention',
  qwen3: 'rotary position embeddings and grouped-query attention',
  gemma: 'rotary position embeddings and multi-query attention',
  gemma2: 'rotary position embeddings and grouped-query attention',
  phi: 'rotary position embeddings and a parallel block',
  phi3: 'rotary position embeddings',
  gpt_neox: 'rotary position embeddings and a parallel block',
  gptj: 'rotary position embeddings and a parallel block',
  falcon: 'rotary position embeddings and multi-query attention',
  gpt_bigcode: 'multi-query attention',
  bloom: 'ALiBi position biases',
  gpt_neo: 'local attention layers',
  bert: 'an encoder (bidirectional, post-LayerNorm)',
  t5: 'an encoder-decoder with relative position biases',
};

const ACTIVATIONS: Readonly<Record<string, CheckpointActivation>> = {
  gelu_new: 'gelu_new',
  // The same function as gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  gelu_pytorch_tanh: 'gelu_new',
  relu: 'relu',
};

/** Parses config.json's text (`what` names the file in messages). */
export function parseCheckpointConfigText(text: string, what = 'config.json'): CheckpointConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${label(what)}: not valid JSON (${escapeUntrusted((e as Error).message, 120)})`);
  }
  return parseCheckpointConfig(json, what);
}

export function parseCheckpointConfig(json: unknown, what = 'config.json'): CheckpointConfig {
  const where = label(what);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointError(`${where}: not a JSON object`);
  const c = json as Record<string, unknown>;
  const refuse = (detail: string): never => {
    throw new CheckpointError(`${where}: ${detail}`);
  };
  const type = c.model_type;
  if (type === undefined) refuse('no model_type (expected "gpt2" or "opt")');
  if (typeof type !== 'string') refuse(`model_type must be a string, got ${show(type)}`);
  const modelType = type as string;
  if (modelType !== 'gpt2' && modelType !== 'opt') {
    const why = OTHER_FAMILIES[modelType];
    refuse(`model_type ${show(modelType)} is not supported${why ? `: ${why}` : ''}; the engine runs GPT-2 and OPT checkpoints (learned positions, pre-LayerNorm, multi-head attention)`);
  }
  // Grouped-query or rotary fields in a gpt2/opt config would be ignored by HF too, but say so only where they change the model.
  const kvHeads = c.num_key_value_heads;
  const int = (names: string[], fallback?: number, max = MAX_CONFIG_DIMENSION): number => {
    const given = names.filter((n) => c[n] !== undefined && c[n] !== null);
    if (given.length === 0) {
      if (fallback !== undefined) return fallback;
      return refuse(`no ${names.join(' or ')}`);
    }
    const values = given.map((n) => c[n]);
    for (let i = 0; i < given.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) refuse(`${given[i]} must be a positive integer, got ${show(v)}`);
      if ((v as number) > max) refuse(`${given[i]} ${show(v)} is over the ${max} allowed`);
    }
    if (given.length > 1 && values.some((v) => v !== values[0])) {
      refuse(`${given.map((n, i) => `${n} ${show(values[i])}`).join(' and ')} disagree (they are the same field)`);
    }
    return values[0] as number;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = c[name];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') return refuse(`${name} must be true or false, got ${show(v)}`);
    return v;
  };
  const gpt2 = modelType === 'gpt2';
  const layers = int(gpt2 ? ['n_layer', 'num_hidden_layers'] : ['num_hidden_layers'], undefined, MAX_CONFIG_LAYERS);
  const heads = int(gpt2 ? ['n_head', 'num_attention_heads'] : ['num_attention_heads']);
  const dModel = int(gpt2 ? ['n_embd', 'hidden_size'] : ['hidden_size']);
  const vocab = int(['vocab_size']);
  const positions = int(gpt2 ? ['n_positions', 'max_position_embeddings'] : ['max_position_embeddings']);
  const ffn = gpt2 ? int(['n_inner'], 4 * dModel) : int(['ffn_dim']);
  if (dModel % heads !== 0) refuse(`${gpt2 ? 'n_embd' : 'hidden_size'} ${dModel} does not split into ${gpt2 ? 'n_head' : 'num_attention_heads'} ${heads} heads`);
  if (kvHeads !== undefined && kvHeads !== null && kvHeads !== heads) {
    refuse(`num_key_value_heads ${show(kvHeads)} differs from the ${heads} attention heads (grouped-query attention is not supported)`);
  }
  for (const rotary of ['rotary_dim', 'rope_theta', 'rope_scaling', 'position_embedding_type']) {
    if (c[rotary] !== undefined && c[rotary] !== null && !(rotary === 'position_embedding_type' && c[rotary] === 'absolute')) {
      refuse(`${rotary} ${show(c[rotary])}: only learned absolute positions are supported`);
    }
  }
  if (bool('add_cross_attention', false)) refuse('add_cross_attention true: the decoder-only block has no cross-attention layers');

  const rawActivation = c.activation_function ?? (gpt2 ? 'gelu_new' : 'relu');
  const activation = typeof rawActivation === 'string' ? ACTIVATIONS[rawActivation] : undefined;
  if (!activation) {
    refuse(`activation_function ${show(rawActivation)} is not supported (gelu_new, gelu_pytorch_tanh: the tanh GELU; relu)`);
  }

  let lnEps = 1e-5;
  if (gpt2) {
    const eps = c.layer_norm_epsilon ?? 1e-5;
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps >= 1) refuse(`layer_norm_epsilon must be a number in (0, 1), got ${show(eps)}`);
    lnEps = eps as number;
    if (!bool('scale_attn_weights', true)) refuse('scale_attn_weights false: only the 1/√d_head score scale is supported');
    if (bool('scale_attn_by_inverse_layer_idx', false)) refuse('scale_attn_by_inverse_layer_idx true: only the 1/√d_head score scale is supported');
  } else {
    if (!bool('do_layer_norm_before', true)) {
      refuse('do_layer_norm_before false (post-LayerNorm, as OPT-350m): only pre-LayerNorm blocks are supported');
    }
    const proj = int(['word_embed_proj_dim'], dModel);
    if (proj !== dModel) {
      refuse(`word_embed_proj_dim ${proj} differs from hidden_size ${dModel} (an embedding projection, as OPT-350m's): not supported`);
    }
    if (!bool('layer_norm_elementwise_affine', true)) refuse('layer_norm_elementwise_affine false: LayerNorm without gain and bias is not supported');
    if (!bool('enable_bias', true)) refuse('enable_bias false: the engine runs OPT with its biases');
  }
  const tied = bool('tie_word_embeddings', true);
  const positionOffset = gpt2 ? 0 : 2;
  return {
    family: modelType as CheckpointFamily,
    layers, heads, dModel, dHead: dModel / heads, ffn, vocab, positions,
    positionRows: positions + positionOffset, positionOffset,
    lnEps, activation: activation!, tied,
  };
}

/** Parameter counts from the config alone: the chapter's attention maps, and the whole model. */
export interface CheckpointParameters {
  /** 4·d_model²·layers: W_Q, W_K, W_V and W_O (the chapter's count, biases apart). */
  attentionWeights: number;
  perLayer: { attention: number; attentionBiases: number; layerNorms: number; mlp: number; total: number };
  tokenEmbedding: number;
  positionEmbedding: number;
  finalLayerNorm: number;
  /** lm_head when not tied (0 when tied: counted once, as the token embedding). */
  unembedding: number;
  total: number;
}

export function checkpointParameters(c: CheckpointConfig, untied = !c.tied): CheckpointParameters {
  const d = c.dModel;
  const attention = 4 * d * d;
  const attentionBiases = 4 * d;
  const layerNorms = 4 * d;
  const mlp = 2 * d * c.ffn + c.ffn + d;
  const perLayerTotal = attention + attentionBiases + layerNorms + mlp;
  const tokenEmbedding = c.vocab * d;
  const positionEmbedding = c.positionRows * d;
  const finalLayerNorm = 2 * d;
  const unembedding = untied ? c.vocab * d : 0;
  return {
    attentionWeights: attention * c.layers,
    perLayer: { attention, attentionBiases, layerNorms, mlp, total: perLayerTotal },
    tokenEmbedding, positionEmbedding, finalLayerNorm, unembedding,
    total: perLayerTotal * c.layers + tokenEmbedding + positionEmbedding + finalLayerNorm + unembedding,
  };
}

const label = (what: string): string => escapeUntrusted(what, 100, 'end');

/** A config value for a message: JSON, escaped and cut. */
function show(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return escapeUntrusted(text, 60);
}

/**
 * The engine's configuration for a checkpoint: its widths, pre-LayerNorm with biases, causal
 * self-attention over `seq` tokens (at most its positions), the whole block (attention and MLP)
 * unless `block` says 'attention' (the chapter's attention-only stack, the MLP left out).
 */
export function checkpointRunConfig(c: CheckpointConfig, options: { seq: number; block?: BlockKind; precision?: PrecisionKind }): AttentionConfig {
  return resolveConfig({
    layers: c.layers, heads: c.heads, dModel: c.dModel, dHead: c.dHead, seq: options.seq, maxSeq: c.positions, kvSeq: options.seq,
    mask: true, cross: false, bias: true, norm: 'layernorm', precision: options.precision ?? 'f32',
    block: options.block ?? 'full', ffn: c.ffn, activation: c.activation, lnEps: c.lnEps,
  });
}
