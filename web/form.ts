// The configuration form: shows the preset's values with the URL's overrides on top, and turns
// each edit into an override (so shared links carry only what differs from the preset).

import { NUMBER_KEYS, paramName, parseAttention, presetConfig, serializeState, type PageState } from './params.js';

const form = () => document.getElementById('config') as HTMLFormElement;
const field = <T extends HTMLElement = HTMLInputElement>(name: string) => form().elements.namedItem(name) as T | null;

/** Writes the state into the form and the URL (replaceState: editing makes no history entries). */
export function showState(s: PageState, tokenCounts: { seq?: number; contextSeq?: number } = {}): void {
  const base = presetConfig(s.preset);
  const shown = { ...base, ...s.overrides };
  if (shown.cross && s.overrides.mask === undefined) shown.mask = false;
  field<HTMLSelectElement>('preset')!.value = s.preset;
  for (const key of NUMBER_KEYS) {
    const input = field(paramName(key))!;
    input.value = String(shown[key]);
    input.disabled = false;
  }
  for (const key of ['mask', 'cross', 'bias'] as const) field(key)!.checked = Boolean(shown[key]);
  field('mask')!.disabled = shown.cross;
  const contextSeq = field('context-seq')!;
  if (!shown.cross) {
    contextSeq.disabled = true;
    contextSeq.value = field('seq')!.value;
  }
  // With text input the token counts are the sequence lengths.
  if (s.input === 'text') {
    const seq = field('seq')!;
    seq.disabled = true;
    if (tokenCounts.seq !== undefined) seq.value = String(tokenCounts.seq);
    if (shown.cross) {
      contextSeq.disabled = true;
      if (tokenCounts.contextSeq !== undefined) contextSeq.value = String(tokenCounts.contextSeq);
    } else if (tokenCounts.seq !== undefined) contextSeq.value = String(tokenCounts.seq);
  }
  field('seed')!.value = String(s.seed);
  for (const radio of form().querySelectorAll<HTMLInputElement>('input[name=input]')) radio.checked = radio.value === s.input;
  field('text')!.value = s.text;
  field('text')!.disabled = s.input !== 'text';
  field('context-text')!.value = s.contextText;
  (document.getElementById('context-text-label') as HTMLElement).hidden = !(shown.cross && s.input === 'text');
  field<HTMLSelectElement>('verify')!.value = s.verify;
  field<HTMLSelectElement>('attention')!.value = s.attention;
  const query = serializeState(s);
  history.replaceState(null, '', query + location.hash);
  (document.getElementById('share') as HTMLAnchorElement).href = query;
}

/** Applies the edit of one named field to the state (returns a new state). */
export function applyEdit(s: PageState, target: HTMLInputElement | HTMLSelectElement): PageState {
  const next: PageState = { ...s, overrides: { ...s.overrides } };
  const name = target.name;
  const checkbox = target instanceof HTMLInputElement && target.type === 'checkbox';
  switch (name) {
    case 'preset':
      next.preset = target.value === 'gpt3' ? 'gpt3' : 'small';
      next.overrides = {}; // a preset is a fresh start: the previous edits belonged to the other one
      // GPT-3's 2048 tokens of seeded rows, not the short sentence, are its natural input.
      next.input = next.preset === 'gpt3' ? 'seeded' : 'text';
      break;
    case 'mask':
    case 'bias':
      next.overrides[name] = (target as HTMLInputElement).checked;
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
    default: {
      const key = NUMBER_KEYS.find((k) => paramName(k) === name);
      if (key && !checkbox) next.overrides[key] = target.value.trim() === '' ? NaN : Number(target.value);
    }
  }
  return next;
}
