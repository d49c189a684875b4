// The configuration form: shows the preset's values with the URL's overrides on top (and the
// dimensions a weights file or the chapter's example fixes, greyed), and turns each edit into an
// override (so shared links carry only what differs from the preset).

import { CHAPTER_CONFIG } from './chapter.js';
import { BENCH_REPEATS, NUMBER_KEYS, paramName, parseAttention, presetConfig, serializeState, type PageState, type Preset } from './params.js';
import type { Tokens } from './tokens.js';
import { showPrecision } from './precision.js';
import type { LoadedWeights } from './weights-file.js';
import type { CheckpointConfig } from '../src/io/checkpoint-config.js';

const form = () => document.getElementById('config') as HTMLFormElement;
const field = <T extends HTMLElement = HTMLInputElement>(name: string) => form().elements.namedItem(name) as T | null;

/** The token chips: each token as GPT-3 splits the text, with its id. */
export function showTokens(t: Tokens | null): void {
  document.getElementById('tokens')!.replaceChildren(
    ...(t?.ids ?? []).map((id, i) => {
      const chip = document.createElement('span');
      chip.textContent = t!.strings[i]!;
      chip.appendChild(document.createElement('small')).textContent = ` ${id}`;
      return chip;
    }),
  );
}

/** Writes the state into the form and the URL (replaceState: editing makes no history entries). */
export function showState(s: PageState, file: LoadedWeights | null, tokenCounts: { seq?: number; kvSeq?: number } = {}, checkpoint: CheckpointConfig | null = null): void {
  const base = presetConfig(s.preset);
  const shown = { ...base, ...Object.fromEntries(Object.entries(s.overrides).filter(([, v]) => v !== undefined)) };
  const fixed = new Set<string>();
  if (s.weights === 'chapter') {
    Object.assign(shown, CHAPTER_CONFIG);
    for (const k of ['layers', 'heads', 'dModel', 'dHead', 'mask', 'cross', 'bias', 'norm']) fixed.add(k);
  } else if (s.weights === 'file' && file) {
    // The file's input_layernorm tensors (or their absence) decide the normalisation.
    Object.assign(shown, { layers: file.layers, dModel: file.dModel, bias: file.bias, norm: file.layerNorm ? 'layernorm' : 'none' });
    if (file.heads) shown.heads = file.heads;
    if (Number.isInteger(file.inner / shown.heads)) shown.dHead = file.inner / shown.heads;
    for (const k of ['layers', 'dModel', 'dHead', 'bias', 'norm', ...(file.heads ? ['heads'] : [])]) fixed.add(k);
  } else if (s.weights === 'checkpoint' && checkpoint) {
    // config.json decides the shape; the block is GPT-2's and OPT's: causal, biases, pre-LayerNorm.
    Object.assign(shown, { layers: checkpoint.layers, heads: checkpoint.heads, dModel: checkpoint.dModel, dHead: checkpoint.dHead, maxSeq: checkpoint.positions,
      mask: true, cross: false, bias: true, norm: 'layernorm' });
    for (const k of ['layers', 'heads', 'dModel', 'dHead', 'maxSeq', 'mask', 'cross', 'bias', 'norm']) fixed.add(k);
  }
  if (shown.cross && s.overrides.mask === undefined) shown.mask = false;
  field<HTMLSelectElement>('preset')!.value = s.preset;
  for (const key of NUMBER_KEYS) {
    const input = field(paramName(key))!;
    input.value = String(shown[key]);
    input.disabled = fixed.has(key);
  }
  for (const key of ['mask', 'cross', 'bias'] as const) {
    field(key)!.checked = Boolean(shown[key]);
    field(key)!.disabled = fixed.has(key);
  }
  if (shown.cross) field('mask')!.disabled = true;
  const norm = field<HTMLSelectElement>('norm')!;
  norm.value = shown.norm;
  norm.disabled = fixed.has('norm');
  norm.title = s.weights === 'file' ? 'set by the weights file (its input_layernorm tensors)' : s.weights === 'chapter' ? "the chapter's example has no LayerNorm"
    : s.weights === 'checkpoint' ? "the checkpoint's own (pre-LayerNorm)" : '';
  showPrecision(shown.precision);
  const kvSeq = field('kv-seq')!;
  if (!shown.cross) {
    kvSeq.disabled = true;
    kvSeq.value = field('seq')!.value;
  }
  // With text input the token counts are the sequence lengths.
  const textInput = s.input === 'text' || s.weights === 'chapter' || s.weights === 'checkpoint';
  if (textInput) {
    const seq = field('seq')!;
    seq.disabled = true;
    if (tokenCounts.seq !== undefined) seq.value = String(tokenCounts.seq);
    if (shown.cross) {
      kvSeq.disabled = true;
      if (tokenCounts.kvSeq !== undefined) kvSeq.value = String(tokenCounts.kvSeq);
    } else if (tokenCounts.seq !== undefined) kvSeq.value = String(tokenCounts.seq);
  }
  field('seed')!.value = String(s.seed);
  for (const radio of form().querySelectorAll<HTMLInputElement>('input[name=input]')) {
    radio.checked = radio.value === (textInput ? 'text' : 'seeded');
    radio.disabled = s.weights === 'chapter' || s.weights === 'checkpoint';
  }
  for (const radio of form().querySelectorAll<HTMLInputElement>('input[name=weights]')) {
    radio.checked = radio.value === s.weights;
    if (radio.value === 'file') radio.disabled = !file;
    if (radio.value === 'checkpoint') radio.disabled = !checkpoint;
  }
  field('text')!.value = s.text;
  field('text')!.disabled = !textInput;
  field('context-text')!.value = s.contextText;
  (document.getElementById('context-text-label') as HTMLElement).hidden = !(shown.cross && textInput);
  field<HTMLSelectElement>('verify')!.value = s.verify;
  field<HTMLSelectElement>('attention')!.value = s.attention;
  field<HTMLSelectElement>('bench')!.value = String(s.bench);
  field('force')!.checked = s.force;
  field('steps')!.value = String(s.steps);
  field('temperature')!.value = String(s.temperature);
  field('rows')!.checked = s.rows;
  const query = serializeState(s);
  history.replaceState(null, '', query + location.hash);
  (document.getElementById('share') as HTMLAnchorElement).href = query;
  const shareNote = document.getElementById('share-note') as HTMLElement;
  shareNote.hidden = s.weights !== 'file' && s.weights !== 'checkpoint';
  shareNote.textContent = s.weights === 'checkpoint' ? '(the link cannot carry the checkpoint)' : '(the link cannot carry the weights file)';
}

/** Applies the edit of one named field to the state (returns a new state). */
export function applyEdit(s: PageState, target: HTMLInputElement | HTMLSelectElement): PageState {
  const next: PageState = { ...s, overrides: { ...s.overrides } };
  const name = target.name;
  const checkbox = target instanceof HTMLInputElement && target.type === 'checkbox';
  switch (name) {
    case 'preset':
      next.preset = (['small', 'gpt3', 'gpt3-widths'] as Preset[]).find((p) => p === target.value) ?? 'small';
      // A preset is a fresh start (its own normalisation too: GPT-3's is LayerNorm); the precision stays.
      next.overrides = s.overrides.precision === undefined ? {} : { precision: s.overrides.precision };
      // GPT-3's seeded rows (2048 of them, or the 16 of the widths preset), not the short sentence, are its natural input.
      next.input = next.preset === 'small' ? 'text' : 'seeded';
      if ((next.preset !== 'small' && next.weights === 'chapter') || next.weights === 'checkpoint') next.weights = 'seeded';
      break;
    case 'mask':
    case 'bias':
    case 'force':
      if (name === 'force') next.force = (target as HTMLInputElement).checked;
      else next.overrides[name] = (target as HTMLInputElement).checked;
      break;
    case 'cross':
      next.overrides.cross = (target as HTMLInputElement).checked;
      // Cross-attention is never masked; leaving it, the preset's mask applies again.
      if (next.overrides.cross) next.overrides.mask = false;
      else delete next.overrides.mask;
      break;
    case 'seed':
      next.seed = Number(target.value);
      break;
    case 'input':
      next.input = target.value === 'seeded' ? 'seeded' : 'text';
      break;
    case 'weights':
      next.weights = (['chapter', 'file', 'checkpoint'] as const).find((w) => w === target.value) ?? 'seeded';
      if (next.weights === 'chapter' || next.weights === 'checkpoint') next.input = 'text';
      break;
    case 'text':
      next.text = target.value;
      break;
    case 'context-text':
      next.contextText = target.value;
      break;
    case 'verify':
      next.verify = target.value === 'none' ? 'none' : 'exact';
      break;
    case 'attention':
      next.attention = parseAttention(target.value);
      break;
    case 'norm':
      next.overrides.norm = target.value === 'layernorm' ? 'layernorm' : 'none';
      break;
    case 'precision':
      // f32 is every preset's precision: the link carries only f16.
      next.overrides.precision = target.value === 'f16' ? 'f16' : undefined;
      break;
    case 'steps':
      next.steps = target.value.trim() === '' ? NaN : Number(target.value);
      break;
    case 'rows':
      next.rows = (target as HTMLInputElement).checked;
      break;
    case 'temperature':
      next.temperature = target.value.trim() === '' ? NaN : Number(target.value);
      break;
    case 'bench':
      next.bench = BENCH_REPEATS.find((n) => String(n) === target.value) ?? 0;
      break;
    default: {
      const key = NUMBER_KEYS.find((k) => paramName(k) === name);
      if (key && !checkbox) next.overrides[key] = target.value.trim() === '' ? NaN : Number(target.value);
    }
  }
  return next;
}
