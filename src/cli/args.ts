// Command-line flags to a configuration: every dimension has a flag, `--preset` picks a base,
// and every value is checked with a message naming the flag.

import { parseArgs } from 'node:util';
import { ACTIVATIONS, BLOCK_KINDS, ConfigError, NORM_KINDS, PRECISIONS, PRESETS, SMALL, type Activation, type AttentionConfig, type BlockKind, type NormKind, type PrecisionKind } from '../model/config.js';

export const RUN_FLAGS = {
  preset: { type: 'string' },
  layers: { type: 'string' },
  heads: { type: 'string' },
  'd-model': { type: 'string' },
  'd-head': { type: 'string' },
  seq: { type: 'string' },
  'max-seq': { type: 'string' },
  'kv-seq': { type: 'string' },
  // Earlier names, still accepted: --context for --max-seq, --context-seq for --kv-seq.
  context: { type: 'string' },
  'context-seq': { type: 'string' },
  cross: { type: 'boolean' },
  'no-mask': { type: 'boolean' },
  norm: { type: 'string' },
  block: { type: 'string' },
  ffn: { type: 'string' },
  activation: { type: 'string' },
  precision: { type: 'string' },
  'output-dtype': { type: 'string' },
  'precision-loss': { type: 'boolean' },
  'keep-failed-output': { type: 'boolean' },
  'keep-partial-output': { type: 'boolean' },
  bias: { type: 'boolean' },
  seed: { type: 'string' },
  verify: { type: 'string' },
  'verify-layers': { type: 'string' },
  weights: { type: 'string' },
  input: { type: 'string' },
  // A Hugging Face checkpoint folder, and what it reads (src/cli/model-run.ts).
  model: { type: 'string' },
  text: { type: 'string' },
  tokens: { type: 'string' },
  top: { type: 'string' },
  // Decode steps after the prefill (src/cli/decode-run.ts).
  decode: { type: 'string' },
  temperature: { type: 'string' },
  output: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  attention: { type: 'string' },
  tune: { type: 'boolean' },
  'no-tune': { type: 'boolean' },
  retune: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type Flags = Record<string, string | boolean | undefined>;

/** The flags, each given at most once: a repeated flag is refused (it would silently take the last). */
export function parseFlags(argv: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): Flags {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: false, strict: true, tokens: true });
  } catch (e) {
    throw new ConfigError((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const seen = new Map<string, string | undefined>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) {
      const values = options[t.name]?.type === 'string' ? ` ('${seen.get(t.name)}', then '${t.value}')` : '';
      throw new ConfigError(`--${t.name} is given twice${values}: give it once`);
    }
    seen.set(t.name, t.value);
  }
  return parsed.values as Flags;
}

/** A positive integer flag: "--seq must be a positive integer, got 2.5". */
export function intFlag(flags: Flags, name: string, { min = 1 } = {}): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const value = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`--${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got '${raw}'`);
  }
  return value;
}

/** The flag's value under its name or its old alias (both given: refused); returns the name set. */
function aliased(flags: Flags, name: string, alias: string): string {
  if (flags[name] !== undefined && flags[alias] !== undefined) throw new ConfigError(`--${name} and --${alias} are the same flag: give one`);
  return flags[alias] !== undefined ? alias : name;
}

/** The base config (a preset or the small default) and the dimensions the flags override. */
export function configFromFlags(flags: Flags): { base: AttentionConfig; overrides: Partial<AttentionConfig> } {
  const presetName = flags.preset as string | undefined;
  let base = SMALL;
  if (presetName !== undefined) {
    const preset = PRESETS[presetName];
    if (!preset) throw new ConfigError(`--preset '${presetName}' is unknown; presets: ${Object.keys(PRESETS).join(', ')}`);
    base = preset;
  }
  const overrides: Partial<AttentionConfig> = {
    layers: intFlag(flags, 'layers'),
    heads: intFlag(flags, 'heads'),
    dModel: intFlag(flags, 'd-model'),
    dHead: intFlag(flags, 'd-head'),
    seq: intFlag(flags, 'seq'),
    maxSeq: intFlag(flags, aliased(flags, 'max-seq', 'context')),
    kvSeq: intFlag(flags, aliased(flags, 'kv-seq', 'context-seq')),
    ffn: intFlag(flags, 'ffn'),
  };
  if (flags.cross) overrides.cross = true;
  if (flags['no-mask'] || flags.cross) overrides.mask = false;
  if (flags.bias) overrides.bias = true;
  if (flags.precision !== undefined) {
    const precision = String(flags.precision);
    if (!PRECISIONS.includes(precision as PrecisionKind)) throw new ConfigError(`--precision must be ${PRECISIONS.join(' or ')}, got '${precision}'`);
    overrides.precision = precision as PrecisionKind;
  }
  if (flags.norm !== undefined) {
    const norm = String(flags.norm);
    if (!NORM_KINDS.includes(norm as NormKind)) throw new ConfigError(`--norm must be ${NORM_KINDS.join(' or ')}, got '${norm}'`);
    overrides.norm = norm as NormKind;
  }
  if (flags.block !== undefined) {
    const block = String(flags.block);
    if (!BLOCK_KINDS.includes(block as BlockKind)) throw new ConfigError(`--block must be ${BLOCK_KINDS.join(' or ')}, got '${block}'`);
    overrides.block = block as BlockKind;
    // The whole block is pre-LN: LN1 before the attention, LN2 before the MLP.
    if (block === 'full' && overrides.norm === undefined) overrides.norm = 'layernorm';
  }
  if (flags.activation !== undefined) {
    const activation = String(flags.activation);
    if (!ACTIVATIONS.includes(activation as Activation)) throw new ConfigError(`--activation must be ${ACTIVATIONS.join(' or ')}, got '${activation}'`);
    overrides.activation = activation as Activation;
  }
  if ((overrides.ffn !== undefined || overrides.activation !== undefined) && (overrides.block ?? base.block) !== 'full') {
    throw new ConfigError(`--${overrides.ffn !== undefined ? 'ffn' : 'activation'} applies to the MLP: add --block full`);
  }
  if ((flags['kv-seq'] ?? flags['context-seq']) !== undefined && !flags.cross) {
    throw new ConfigError('--kv-seq applies to cross-attention only: add --cross');
  }
  return { base, overrides };
}
