// The page's whole state lives in the query string so a run can be shared as a link:
//   ?preset=small&layers=1&heads=2&d-model=64&d-head=32&mask=1&cross=0&seed=1
//    &input=text&text=...&context-text=...&verify=exact&attention=auto&autorun=1
// Dimension names are the CLI's flags without the dashes (d-model = --d-model); camelCase
// (dModel) is accepted too. Only values present in the URL override the preset.

import { PRESETS, SMALL, flagName, type AttentionConfig } from '../src/index.js';

export type InputMode = 'text' | 'seeded';
export type VerifyMode = 'exact' | 'none';
/** The engine's attention core (RunOptions.attention): patterns are drawn only when materialized. */
export type AttentionChoice = 'auto' | 'materialized' | 'fused';
const ATTENTION_CHOICES: readonly AttentionChoice[] = ['auto', 'materialized', 'fused'];

export interface PageState {
  preset: 'small' | 'gpt3';
  /** Values set explicitly (URL or form); the rest comes from the preset. */
  overrides: Partial<AttentionConfig>;
  seed: number;
  input: InputMode;
  text: string;
  contextText: string;
  verify: VerifyMode;
  attention: AttentionChoice;
  autorun: boolean;
  /** Run even where the page estimates a software adapter would take too long. */
  force: boolean;
}

export const DEFAULT_TEXT = 'a fluffy blue creature roamed the verdant forest';
export const DEFAULT_CONTEXT_TEXT = 'the green woods were quiet until the small animal arrived';

export const NUMBER_KEYS = ['layers', 'heads', 'dModel', 'dHead', 'seq', 'contextSeq', 'context'] as const;
export type NumberKey = (typeof NUMBER_KEYS)[number];
const FLAG_KEYS = ['mask', 'cross', 'bias'] as const;

export const paramName = (key: string): string => flagName(key).slice(2);

export const parseAttention = (value: string): AttentionChoice => ATTENTION_CHOICES.find((a) => a === value) ?? 'auto';

export function presetConfig(preset: PageState['preset']): AttentionConfig {
  return preset === 'gpt3' ? PRESETS.gpt3! : SMALL;
}

/** Parses a query string; malformed numbers are kept as NaN so validateConfig names the flag. */
export function parseState(search: string): PageState {
  const q = new URLSearchParams(search);
  const get = (key: string) => q.get(paramName(key)) ?? q.get(key);
  const overrides: Partial<AttentionConfig> = {};
  for (const key of NUMBER_KEYS) {
    const raw = get(key);
    if (raw !== null && raw.trim() !== '') overrides[key] = Number(raw);
  }
  for (const key of FLAG_KEYS) {
    const raw = get(key);
    if (raw !== null) overrides[key] = raw === '1' || raw === 'true';
  }
  const seedRaw = q.get('seed');
  return {
    preset: q.get('preset') === 'gpt3' ? 'gpt3' : 'small',
    overrides,
    seed: seedRaw === null || seedRaw === '' ? 1 : Number(seedRaw),
    input: q.get('input') === 'seeded' ? 'seeded' : 'text',
    text: q.get('text') ?? DEFAULT_TEXT,
    contextText: q.get('context-text') ?? DEFAULT_CONTEXT_TEXT,
    verify: q.get('verify') === 'none' ? 'none' : 'exact',
    attention: parseAttention(q.get('attention') ?? ''),
    autorun: q.get('autorun') === '1',
    force: q.get('force') === '1',
  };
}

/** The inverse of parseState (autorun left out: a shared link should not start work by itself unless asked). */
export function serializeState(s: PageState, autorun = false): string {
  const q = new URLSearchParams();
  q.set('preset', s.preset);
  for (const key of NUMBER_KEYS) {
    const v = s.overrides[key];
    if (v !== undefined) q.set(paramName(key), String(v));
  }
  for (const key of FLAG_KEYS) {
    const v = s.overrides[key];
    if (v !== undefined) q.set(key, v ? '1' : '0');
  }
  q.set('seed', String(s.seed));
  q.set('input', s.input);
  if (s.input === 'text') {
    q.set('text', s.text);
    if (s.overrides.cross) q.set('context-text', s.contextText);
  }
  q.set('verify', s.verify);
  if (s.attention !== 'auto') q.set('attention', s.attention);
  if (s.force) q.set('force', '1');
  if (autorun) q.set('autorun', '1');
  return '?' + q.toString();
}
