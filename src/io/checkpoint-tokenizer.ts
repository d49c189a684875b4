// Text to token ids and back with a checkpoint's own tokenizer.json, through Hugging Face's
// maintained JS library (@huggingface/tokenizers: pure JS, Node and browser), adding what the
// tokenizer adds (OPT's </s> BOS comes from its post-processor). Token lists from the command line
// (--tokens 5,17,42) are taken as given. Ids at or past the model's vocabulary and more tokens
// than it has positions are refused, naming the limit. Pure TypeScript (no Node imports).

import { Tokenizer } from '@huggingface/tokenizers';
import { CheckpointError, type CheckpointConfig } from './checkpoint-config.js';
import { escapeUntrusted } from './escape.js';

export interface TextTokenizer {
  encode(text: string): number[];
  /** One token's text (or several tokens'), as the tokenizer's decoder gives it. */
  decode(ids: number[]): string;
  /** Whether the tokenizer has this id (a model's vocabulary may be padded past it, as OPT's is). */
  has(id: number): boolean;
}

/** A tokenizer from tokenizer.json's text (and tokenizer_config.json's, when the checkpoint has one). */
export function loadTokenizer(tokenizerText: string, configText: string | null = null, what = 'tokenizer.json'): TextTokenizer {
  const where = escapeUntrusted(what, 100, 'end');
  const parse = (text: string, file: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new CheckpointError(`${escapeUntrusted(file, 100, 'end')}: not valid JSON (${escapeUntrusted((e as Error).message, 120)})`);
    }
  };
  const json = parse(tokenizerText, what);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointError(`${where}: not a JSON object`);
  const config = configText === null ? {} : parse(configText, 'tokenizer_config.json');
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json as object, (config ?? {}) as object);
  } catch (e) {
    throw new CheckpointError(`${where}: @huggingface/tokenizers cannot read it (${escapeUntrusted((e as Error).message, 160)})`);
  }
  return {
    encode: (text) => tokenizer.encode(text).ids,
    decode: (ids) => tokenizer.decode(ids, { skip_special_tokens: false }),
    has: (id) => tokenizer.id_to_token(id) !== undefined,
  };
}

/** "5,17,42" (commas, optional spaces) to ids; anything else is refused naming --tokens. */
export function parseTokenList(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new CheckpointError(`--tokens must be token ids separated by commas (e.g. 5,17,42), got '${escapeUntrusted(text, 60)}'`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p))) throw new CheckpointError(`--tokens: '${escapeUntrusted(p, 30)}' is not a non-negative integer token id`);
    return Number(p);
  });
}

/** Refuses an empty list, an id at or past the vocabulary, and more tokens than the model has positions. */
export function checkTokens(ids: readonly number[], cfg: CheckpointConfig, flag: string): Uint32Array {
  if (ids.length === 0) throw new CheckpointError(`${flag} gives no tokens: the model needs at least one`);
  const limit = cfg.family === 'gpt2' ? 'n_positions' : 'max_position_embeddings';
  if (ids.length > cfg.positions) throw new CheckpointError(`${flag} gives ${ids.length} tokens, more than the model's ${cfg.positions} positions (config.json ${limit})`);
  ids.forEach((id, i) => {
    if (id >= cfg.vocab) throw new CheckpointError(`${flag}: token ${i} has id ${id}, at or past the vocabulary of ${cfg.vocab} (config.json vocab_size)`);
  });
  return Uint32Array.from(ids);
}
