// The page's whole state lives in the query string so a run can be shared as a link:
//   ?preset=small&layers=1&heads=2&d-model=64&d-head=32&mask=1&cross=0&seed=1
//    &input=text&text=...&context-text=...&verify=exact&attention=auto&autorun=1
//    &example=chapter (the constructed weights of web/chapter.ts)  &bench=10 (benchmark repeats)
//    &orient=keys (the chapter's orientation)  &scale=row|log (colour scale)
//    &norm=layernorm (GPT-3's pre-LN; the GPT-3 presets' default)  &precision=f16 (needs shader-f16)
//    &steps=8 &temperature=0.8 (Generate: decode steps after the prompt, and the sampling temperature)
//    &rows=0 (Generate without drawing each step's pattern rows: no read-back after every layer)
// Dimension names are the CLI's flags without the dashes (d-model = --d-model); camelCase
// (dModel) is accepted too. Only values present in the URL override the preset.

import { PRESETS, SMALL, flagName, type AttentionConfig } from '../src/index.js';
import type { NormKind, PrecisionKind } from '../src/model/config.js';
import { CHAPTER_CONFIG } from './chapter.js';

export type InputMode = 'text' | 'seeded';
export type VerifyMode = 'exact' | 'none';
/** The engine's attention core (RunOptions.attention): patterns are drawn only when materialized. */
export type AttentionChoice = 'auto' | 'materialized' | 'fused';
const ATTENTION_CHOICES: readonly AttentionChoice[] = ['auto', 'materialized', 'fused'];

export type Preset = 'small' | 'gpt3' | 'gpt3-widths';
const PRESET_NAMES: readonly Preset[] = ['small', 'gpt3', 'gpt3-widths'];
/**
 * seeded: random weights from the seed; chapter: web/chapter.ts; file: a safetensors file picked in
 * the page; checkpoint: a Hugging Face checkpoint's files picked or dropped (web/checkpoint-files.ts).
 * Files never travel in a link.
 */
export type WeightsChoice = 'seeded' | 'chapter' | 'file' | 'checkpoint';
export type Orientation = 'queries' | 'keys';
export type Scale = 'linear' | 'row' | 'log';
export const BENCH_REPEATS = [0, 5, 10, 20] as const;

export interface PageState {
  preset: Preset;
  weights: WeightsChoice;
  /** Benchmark mode: a warm-up run, then this many timed runs (0: off). */
  bench: number;
  orient: Orientation;
  scale: Scale;
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
  /** Generate: decode steps after the prompt (`steps=N`), and the sampling temperature (0: greedy; the seed draws). */
  steps: number;
  temperature: number;
  /** Generate draws each step's pattern rows (read back after every layer); off (`rows=0`) for decode timings. */
  rows: boolean;
}

export const DEFAULT_STEPS = 8;

export const DEFAULT_TEXT = 'a fluffy blue creature roamed the verdant forest';
export const DEFAULT_CONTEXT_TEXT = 'the green woods were quiet until the small animal arrived';

export const NUMBER_KEYS = ['layers', 'heads', 'dModel', 'dHead', 'seq', 'kvSeq', 'maxSeq'] as const;
/** URL names before 0.2, still read. */
const OLD_NAMES: Partial<Record<string, string>> = { kvSeq: 'context-seq', maxSeq: 'context' };
export type NumberKey = (typeof NUMBER_KEYS)[number];
const FLAG_KEYS = ['mask', 'cross', 'bias'] as const;
/** Choices kept as written (an unknown value reaches validateConfig, which names the field), like malformed numbers. */
export const CHOICE_KEYS = ['norm', 'precision'] as const;

export const paramName = (key: string): string => flagName(key).slice(2);

export const parseAttention = (value: string): AttentionChoice => ATTENTION_CHOICES.find((a) => a === value) ?? 'auto';

/** GPT-3's widths (d_model 12288, 96 heads of 128, pre-LayerNorm) with 2 layers and 16 tokens: what a software adapter can run. */
export const GPT3_WIDTHS: AttentionConfig = Object.freeze({ ...PRESETS.gpt3!, layers: 2, seq: 16, kvSeq: 16 });

export function presetConfig(preset: Preset): AttentionConfig {
  return preset === 'gpt3' ? PRESETS.gpt3! : preset === 'gpt3-widths' ? GPT3_WIDTHS : SMALL;
}

/** The dimensions the chapter's example fixes (seq comes from the text). */
export const exampleOverrides = (): Partial<AttentionConfig> => ({ ...CHAPTER_CONFIG });

/** Parses a query string; malformed numbers are kept as NaN so validateConfig names the flag. */
export function parseState(search: string): PageState {
  const q = new URLSearchParams(search);
  const get = (key: string) => q.get(paramName(key)) ?? q.get(key) ?? (OLD_NAMES[key] ? q.get(OLD_NAMES[key]!) : null);
  const overrides: Partial<AttentionConfig> = {};
  for (const key of NUMBER_KEYS) {
    const raw = get(key);
    if (raw !== null && raw.trim() !== '') overrides[key] = Number(raw);
  }
  for (const key of FLAG_KEYS) {
    const raw = get(key);
    if (raw !== null) overrides[key] = raw === '1' || raw === 'true';
  }
  const norm = q.get('norm');
  if (norm) overrides.norm = norm as NormKind;
  const precision = q.get('precision');
  if (precision) overrides.precision = precision as PrecisionKind;
  const seedRaw = q.get('seed');
  return {
    preset: PRESET_NAMES.find((p) => p === q.get('preset')) ?? 'small',
    weights: q.get('example') === 'chapter' ? 'chapter' : 'seeded',
    bench: Math.max(0, Math.min(100, Math.floor(Number(q.get('bench')) || 0))),
    orient: q.get('orient') === 'keys' ? 'keys' : 'queries',
    scale: q.get('scale') === 'row' ? 'row' : q.get('scale') === 'log' ? 'log' : 'linear',
    overrides,
    seed: seedRaw === null || seedRaw === '' ? 1 : Number(seedRaw),
    // GPT-3's presets run on seeded rows (2048 or 16 of them) unless the link says otherwise, as the form does.
    input: (q.get('input') ?? (q.get('preset') === 'gpt3' || q.get('preset') === 'gpt3-widths' ? 'seeded' : 'text')) === 'seeded' ? 'seeded' : 'text',
    text: q.get('text') ?? DEFAULT_TEXT,
    contextText: q.get('context-text') ?? DEFAULT_CONTEXT_TEXT,
    verify: q.get('verify') === 'none' ? 'none' : 'exact',
    attention: parseAttention(q.get('attention') ?? ''),
    autorun: q.get('autorun') === '1',
    force: q.get('force') === '1',
    // Kept as written (NaN too): Generate refuses a bad value naming the field.
    steps: q.get('steps') === null || q.get('steps') === '' ? DEFAULT_STEPS : Number(q.get('steps')),
    temperature: q.get('temperature') === null || q.get('temperature') === '' ? 0 : Number(q.get('temperature')),
    rows: q.get('rows') !== '0',
  };
}

/** The inverse of parseState (autorun left out: a shared link should not start work by itself unless asked). */
export function serializeState(s: PageState, autorun = false): string {
  const q = new URLSearchParams();
  q.set('preset', s.preset);
  if (s.weights === 'chapter') q.set('example', 'chapter');
  for (const key of NUMBER_KEYS) {
    const v = s.overrides[key];
    if (v !== undefined) q.set(paramName(key), String(v));
  }
  for (const key of FLAG_KEYS) {
    const v = s.overrides[key];
    if (v !== undefined) q.set(key, v ? '1' : '0');
  }
  for (const key of CHOICE_KEYS) {
    const v = s.overrides[key];
    if (v !== undefined) q.set(key, v);
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
  if (s.steps !== DEFAULT_STEPS) q.set('steps', String(s.steps));
  if (s.temperature !== 0) q.set('temperature', String(s.temperature));
  if (!s.rows) q.set('rows', '0');
  if (s.bench > 0) q.set('bench', String(s.bench));
  if (s.orient !== 'queries') q.set('orient', s.orient);
  if (s.scale !== 'linear') q.set('scale', s.scale);
  if (autorun) q.set('autorun', '1');
  return '?' + q.toString();
}
