// `run --model DIR --text "…" | --tokens 5,17,42 [--top N] [--block full|attention]`: a Hugging
// Face checkpoint's folder opened and checked before any GPU work (config.json, every tensor's
// name, dtype and shape), the text tokenized with its own tokenizer.json, and the configuration
// taken from config.json (seq = the number of tokens). After the run: the next-token
// distribution of the last position from RunResult.logits (softmax in float64), best first.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { intFlag, type Flags } from './args.js';
import { refuseShapeFlags } from './model-params.js';
import { checkpointRunConfig } from '../io/checkpoint-config.js';
import { checkTokens, parseTokenList, type TextTokenizer } from '../io/checkpoint-tokenizer.js';
import { CheckpointError } from '../io/checkpoint-config.js';
import { escapeUntrusted } from '../io/escape.js';
import { BLOCK_KINDS, ConfigError, PRECISIONS, type AttentionConfig, type BlockKind, type PrecisionKind } from '../model/config.js';
import { Checkpoint, TOKENIZER_FILE } from '../node/checkpoint.js';
import { showPath } from '../node/paths.js';
import type { NextToken } from '../model/next-tokens.js';

export interface ModelRun {
  checkpoint: Checkpoint;
  /** The token ids read (--tokens as given, or --text through the tokenizer with what it adds). */
  tokens: Uint32Array;
  /** Where the tokens came from: '--text' or '--tokens'. */
  source: '--text' | '--tokens';
  tokenizer: TextTokenizer | null;
  /** How many next tokens to print (--top, default 5). */
  top: number;
  cfg: AttentionConfig;
}

export const DEFAULT_TOP = 5;
/** Flags a model run reads only with --model. */
const MODEL_ONLY = ['text', 'tokens', 'top'];

/**
 * Opens --model's checkpoint and reads its tokens, or returns null without --model (then --text,
 * --tokens and --top are refused: they mean nothing for seeded or --weights runs). The caller
 * closes `checkpoint`.
 */
export function openModelRun(flags: Flags): ModelRun | null {
  if (flags.model === undefined) {
    const stray = MODEL_ONLY.find((f) => flags[f] !== undefined);
    if (stray) throw new ConfigError(`--${stray} needs --model DIR (a Hugging Face checkpoint folder)`);
    return null;
  }
  refuseShapeFlags(flags);
  for (const f of ['seq', 'ffn', 'activation']) {
    if (flags[f] !== undefined) throw new ConfigError(`--${f} cannot be combined with --model: ${f === 'seq' ? 'the tokens give the sequence length' : "the checkpoint's config.json gives the MLP"}`);
  }
  if (flags.text !== undefined && flags.tokens !== undefined) throw new ConfigError('--text and --tokens both give the input: give one');
  if (flags.text === undefined && flags.tokens === undefined) throw new ConfigError('--model needs its input: --text "…" (tokenized with the checkpoint\'s tokenizer.json) or --tokens 5,17,42');
  const block = flags.block === undefined ? 'full' : String(flags.block);
  if (!BLOCK_KINDS.includes(block as BlockKind)) throw new ConfigError(`--block must be ${BLOCK_KINDS.join(' or ')}, got '${escapeUntrusted(block, 30)}'`);
  const precision = flags.precision === undefined ? 'f32' : String(flags.precision);
  if (!PRECISIONS.includes(precision as PrecisionKind)) throw new ConfigError(`--precision must be ${PRECISIONS.join(' or ')}, got '${escapeUntrusted(precision, 30)}'`);
  const top = intFlag(flags, 'top') ?? DEFAULT_TOP;

  const checkpoint = Checkpoint.open(String(flags.model));
  try {
    const tokenizer = checkpoint.tokenizer();
    let ids: number[];
    let source: ModelRun['source'];
    if (flags.text !== undefined) {
      if (!tokenizer) {
        const slow = existsSync(join(checkpoint.dir, 'vocab.json')) && existsSync(join(checkpoint.dir, 'merges.txt'))
          ? ` (it has vocab.json and merges.txt, which are not read: AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR) writes ${TOKENIZER_FILE})` : '';
        throw new CheckpointError(`--text needs the checkpoint's ${TOKENIZER_FILE}, which ${showPath(checkpoint.dir)} lacks${slow}: give the token ids with --tokens 5,17,42`);
      }
      ids = tokenizer.encode(String(flags.text));
      source = '--text';
    } else {
      ids = parseTokenList(String(flags.tokens));
      source = '--tokens';
    }
    const tokens = checkTokens(ids, checkpoint.config, source);
    const cfg = checkpointRunConfig(checkpoint.config, { seq: tokens.length, block: block as BlockKind, precision: precision as PrecisionKind });
    return { checkpoint, tokens, source, tokenizer, top: Math.min(top, checkpoint.config.vocab), cfg };
  } catch (e) {
    checkpoint.close();
    throw e;
  }
}

export { nextTokens, type NextToken } from '../model/next-tokens.js';

/** "  1.  id 2159  ' forest'  p 0.4213" lines; token texts escaped (a newline shows as \n). */
export function nextTokenLines(next: NextToken[]): string[] {
  const idWidth = Math.max(...next.map((t) => String(t.id).length));
  return next.map((t, i) => `  ${String(i + 1).padStart(2)}. id ${String(t.id).padStart(idWidth)}  ${t.text === null ? '(no text)' : `'${escapeUntrusted(t.text, 40)}'`}  p ${t.p.toFixed(4)}`);
}

/** The tokens read, for the log: "4 tokens from --text: [64, 39145, …]". */
export function tokensLine(m: ModelRun): string {
  const ids = [...m.tokens];
  const shown = ids.length <= 16 ? ids.join(', ') : `${ids.slice(0, 16).join(', ')}, … (${ids.length} in all)`;
  return `${ids.length} ${ids.length === 1 ? 'token' : 'tokens'} from ${m.source}: [${shown}]`;
}

/** What a model run's output was computed from, for its __metadata__: the folder, the layout, the dtypes and the tokens. */
export function modelProvenance(m: ModelRun): Record<string, string> {
  return {
    'webgpu-attention.model': escapeUntrusted(m.checkpoint.dir, 255, 'end'),
    'webgpu-attention.model-family': m.checkpoint.config.family,
    'webgpu-attention.model-dtypes': m.checkpoint.dtypes(),
    'webgpu-attention.tokens': [...m.tokens].join(','),
  };
}
