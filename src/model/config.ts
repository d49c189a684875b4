// The shape of one attention stack, in the words of the classic explanation:
// dModel is the embedding width, heads × dHead the query/key/value-down width,
// seq the number of query tokens, kvSeq the number of key/value tokens (the cross-attention
// context's length; seq for self-attention), maxSeq the longest sequence the model allows
// (equal to seq for self-attention), layers how many blocks run one after another.

export interface AttentionConfig {
  layers: number;
  heads: number;
  dModel: number;
  dHead: number;
  seq: number;
  /** Longest sequence the model is defined for (GPT-3: 2048). seq and kvSeq must not exceed it. */
  maxSeq: number;
  /** Causal mask: key j is hidden from query i when j > i. Only meaningful for self-attention. */
  mask: boolean;
  /** Cross-attention: keys and values come from a second sequence (the context), never masked. */
  cross: boolean;
  /** Key/value rows: the cross-attention context's length; equals seq for self-attention. */
  kvSeq: number;
  /** Add the optional biases of the four projections. */
  bias: boolean;
  /**
   * Normalisation of the query-side input: 'layernorm' is GPT-3's pre-LN block
   * x + Attn(LN(x)) (learned gain and bias, eps 1e-5; the cross-attention context is used as
   * given); 'none' is the chapter's bare block x + Attn(x).
   */
  norm: NormKind;
  /**
   * Storage of weights, activations, q/k/v, patterns and weighted sums: 'f32', or 'f16' (half the
   * bytes; every dot product, softmax and LayerNorm statistic still accumulated in f32). The
   * residual stream x is f32 in both: it sums 96 layers of small updates, which f16's 11-bit
   * significand would round away. Default 'f32'.
   */
  precision: PrecisionKind;
  /** 'attention': the chapter's stack x += Attn(LN?(x)); 'full': x += Attn(LN1(x)); x += MLP(LN2(x)) (needs norm 'layernorm'). */
  block: BlockKind;
  /** MLP hidden width (GPT-2 n_inner or 4·d_model, OPT ffn_dim); used by block 'full'. */
  ffn: number;
  /** The MLP's activation: 'gelu_new' (GPT-2's tanh form) or 'relu' (OPT). */
  activation: Activation;
  /** LayerNorm epsilon (config.json layer_norm_epsilon; OPT 1e-5). */
  lnEps: number;
}

export type NormKind = 'none' | 'layernorm';
export const NORM_KINDS: readonly NormKind[] = ['none', 'layernorm'];
export type PrecisionKind = 'f32' | 'f16';
export const PRECISIONS: readonly PrecisionKind[] = ['f32', 'f16'];
export type BlockKind = 'attention' | 'full';
export const BLOCK_KINDS: readonly BlockKind[] = ['attention', 'full'];
export type Activation = 'gelu_new' | 'relu';
export const ACTIVATIONS: readonly Activation[] = ['gelu_new', 'relu'];

/** GPT-3 175B's attention: d_model 12288, 96 heads of 128, 96 layers, context 2048. */
export const GPT3: AttentionConfig = Object.freeze({
  layers: 96,
  heads: 96,
  dModel: 12288,
  dHead: 128,
  seq: 2048,
  maxSeq: 2048,
  mask: true,
  cross: false,
  kvSeq: 2048,
  bias: false,
  norm: 'layernorm', // GPT-3 is a pre-LN transformer
  precision: 'f32',
  block: 'attention',
  ffn: 4 * 12288,
  activation: 'gelu_new',
  lnEps: 1e-5,
});

export const PRESETS: Record<string, AttentionConfig> = { gpt3: GPT3 };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const DIMENSIONS = ['layers', 'heads', 'dModel', 'dHead', 'seq', 'maxSeq', 'kvSeq', 'ffn'] as const;

/**
 * Fills defaults and checks every dimension; throws ConfigError naming the argument and the limit.
 * Partial configs start from `base` (default: a small causal self-attention stack).
 */
export function resolveConfig(partial: Partial<AttentionConfig>, base: AttentionConfig = SMALL): AttentionConfig {
  const merged = { ...base, ...stripUndefined(partial) };
  if (partial.cross !== undefined || partial.mask !== undefined) {
    // Cross-attention is never masked.
    if (merged.cross && partial.mask === undefined) merged.mask = false;
  }
  if (!merged.cross) merged.kvSeq = merged.seq;
  else if (partial.kvSeq === undefined && base.kvSeq === base.seq) merged.kvSeq = merged.seq;
  // The MLP width follows d_model (4·d_model) unless given, or kept from a base of the same width.
  if (partial.ffn === undefined && merged.dModel !== base.dModel) merged.ffn = 4 * merged.dModel;
  validateConfig(merged);
  return merged;
}

export function validateConfig(c: AttentionConfig): void {
  for (const key of DIMENSIONS) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new ConfigError(`${flagName(key)} must be a positive integer, got ${String(v)}`);
    }
    if (v > 2 ** 24) throw new ConfigError(`${flagName(key)} must be at most ${2 ** 24}, got ${v}`);
  }
  if (c.seq > c.maxSeq) throw new ConfigError(`--seq ${c.seq} exceeds the configured context of ${c.maxSeq} tokens (--max-seq)`);
  if (c.kvSeq > c.maxSeq) {
    throw new ConfigError(`--kv-seq ${c.kvSeq} exceeds the configured context of ${c.maxSeq} tokens (--max-seq)`);
  }
  if (!PRECISIONS.includes(c.precision)) throw new ConfigError(`--precision must be ${PRECISIONS.join(' or ')}, got '${String(c.precision)}'`);
  if (!NORM_KINDS.includes(c.norm)) throw new ConfigError(`--norm must be ${NORM_KINDS.join(' or ')}, got '${String(c.norm)}'`);
  if (!BLOCK_KINDS.includes(c.block)) throw new ConfigError(`--block must be ${BLOCK_KINDS.join(' or ')}, got '${String(c.block)}'`);
  if (!ACTIVATIONS.includes(c.activation)) throw new ConfigError(`activation must be ${ACTIVATIONS.join(' or ')}, got '${String(c.activation)}'`);
  if (typeof c.lnEps !== 'number' || !Number.isFinite(c.lnEps) || c.lnEps <= 0 || c.lnEps >= 1) {
    throw new ConfigError(`the LayerNorm epsilon must be a number in (0, 1), got ${String(c.lnEps)}`);
  }
  if (c.block === 'full' && c.norm !== 'layernorm') {
    throw new ConfigError(`--block full needs --norm layernorm (the block is x += Attn(LN1(x)); x += MLP(LN2(x))), got --norm ${c.norm}`);
  }
  if (c.cross && c.mask) throw new ConfigError('--cross cannot be combined with a causal mask: cross-attention is never masked');
  if (!c.cross && c.kvSeq !== c.seq) {
    throw new ConfigError(`--kv-seq (${c.kvSeq}) applies to cross-attention only; self-attention uses --seq (${c.seq})`);
  }
}

export const SMALL: AttentionConfig = Object.freeze({
  layers: 2,
  heads: 4,
  dModel: 256,
  dHead: 64,
  seq: 33,
  maxSeq: 2048,
  mask: true,
  cross: false,
  kvSeq: 33,
  bias: false,
  norm: 'none',
  precision: 'f32',
  block: 'attention',
  ffn: 4 * 256,
  activation: 'gelu_new',
  lnEps: 1e-5,
});

export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase());
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Width of the concatenated heads: the rows of W_Q, W_K, W_V and the columns of W_O. */
export const innerWidth = (c: AttentionConfig): number => c.heads * c.dHead;
