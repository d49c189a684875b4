// The chapter's example (web/chapter.ts) in plain Node: its constructed weights make each head
// do what the page says, on the default sentence and on other text, through the float64 reference.

import { Tiktoken } from 'js-tiktoken/lite';
import ranks from 'js-tiktoken/ranks/r50k_base';
import { describe, expect, test } from 'vitest';
import { reference } from '../../src/index.js';
import { chapterConfig, chapterExample } from '../../web/chapter.js';
import { tagTokens } from '../../web/lexicon.js';

const bpe = new Tiktoken(ranks);
function patterns(text: string) {
  const ids = bpe.encode(text);
  const strings = ids.map((id) => bpe.decode([id]));
  const ex = chapterExample(ids, strings, 1);
  const cfg = chapterConfig(ids.length, 2048);
  const r = reference.attentionLayer(ex.inputs.x, null, ex.layers[0]!, cfg);
  const heads = [0, 1, 2, 3].map((h) => reference.attentionPattern(r.q, r.k, cfg, h));
  const row = (h: number, i: number) => Array.from(heads[h]!.subarray(i * ids.length, (i + 1) * ids.length));
  return { strings, tags: ex.tags, row, n: ids.length };
}

describe("the chapter's example", () => {
  test('tags words, not tokens', () => {
    expect(tagTokens([' ver', 'd', 'ant', ' forest'])).toEqual(['adjective', 'adjective', 'adjective', 'noun']);
    expect(tagTokens(['a', ' fluffy', ' blue', ' creature', '.'])).toEqual(['determiner', 'adjective', 'adjective', 'noun', 'other']);
  });

  test('" creature" puts most of its weight on " fluffy" and " blue"; the other heads do their jobs', () => {
    const p = patterns('a fluffy blue creature roamed the verdant forest');
    const creature = p.strings.indexOf(' creature');
    const row = p.row(0, creature);
    expect(row[1]! + row[2]!).toBeGreaterThan(0.95);
    const forest = p.strings.indexOf(' forest');
    const adj = p.tags.map((t, j) => (t === 'adjective' && j < forest ? j : -1)).filter((j) => j >= 0);
    expect(adj.reduce((s, j) => s + p.row(0, forest)[j]!, 0)).toBeGreaterThan(0.95);
    for (let i = 1; i < p.n; i++) {
      expect(p.row(1, i)[i - 1]).toBeGreaterThan(0.9);
      expect(p.row(2, i)[0]).toBeGreaterThan(0.99);
      expect(p.row(3, i)[i]).toBeGreaterThan(0.9);
    }
  });

  test('any text, up to 128 tokens', () => {
    const text = Array.from({ length: 16 }, (_, i) => `the ${i % 2 ? 'small' : 'green'} owl saw a quiet river`).join(' ');
    const p = patterns(text);
    expect(p.n).toBeGreaterThan(100);
    for (let i = 1; i < p.n; i++) {
      expect(p.row(1, i)[i - 1]).toBeGreaterThan(0.9);
      expect(p.row(3, i)[i]).toBeGreaterThan(0.9);
      if (p.tags[i] === 'noun' && p.tags[i - 2] === 'adjective') expect(p.row(0, i)[i - 2]).toBeGreaterThan(0.5);
    }
  });
});
