// GPT-3's byte-pair encoding (r50k_base) via js-tiktoken's lite build: only the one rank file
// is bundled (≈0.5 MB), and it is imported on first use so the page paints before it parses.

import type { Tiktoken } from 'js-tiktoken/lite';

export interface Tokens {
  ids: number[];
  /** Each token decoded on its own (leading spaces kept), as the model sees the split. */
  strings: string[];
}

let encoder: Promise<Tiktoken> | null = null;

function load(): Promise<Tiktoken> {
  encoder ??= Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/r50k_base')]).then(
    ([lite, ranks]) => new lite.Tiktoken(ranks.default),
  );
  return encoder;
}

export async function tokenize(text: string): Promise<Tokens> {
  const t = await load();
  const ids = t.encode(text);
  return { ids, strings: ids.map((id) => t.decode([id])) };
}

/** Axis label: a leading space shown as '·' so " the" and "the" stay distinguishable. */
export const label = (s: string): string => s.replace(/^ /, '·').replace(/\n/g, '⏎');
