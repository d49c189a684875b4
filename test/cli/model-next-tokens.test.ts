// The next-token list: softmax of the logits in float64, best first, ties by id, token texts
// escaped when printed (a token can hold a newline or an ESC).

import { describe, expect, it } from 'vitest';
import { nextTokenLines, nextTokens } from '../../src/cli/model-run.js';

const tokenizer = { encode: () => [], decode: (ids: number[]) => ['a', '\n', 'b\u001b[2J', 'c', 'd'][ids[0]!]!, has: (id: number) => id < 5 };

describe('nextTokens', () => {
  it('probabilities are the softmax in float64, best first, ties by id', () => {
    const logits = Float32Array.from([1, 3, 2, 3, -1]);
    const next = nextTokens(logits, 3, tokenizer);
    const z = Math.exp(1) + 2 * Math.exp(3) + Math.exp(2) + Math.exp(-1);
    expect(next.map((t) => t.id)).toEqual([1, 3, 2]);
    expect(next[0]!.p).toBeCloseTo(Math.exp(3) / z, 15);
    expect(next[2]!.p).toBeCloseTo(Math.exp(2) / z, 15);
    expect(nextTokens(logits, 5, null).reduce((s, t) => s + t.p, 0)).toBeCloseTo(1, 14);
    const last = nextTokens(logits, 5, null)[4]!;
    expect(last).toMatchObject({ id: 4, text: null });
    expect(last.p).toBeCloseTo(Math.exp(-1) / z, 15);
  });

  it('an id past the tokenizer (a padded vocabulary) has no text', () => {
    const next = nextTokens(Float32Array.from([0, 0, 0, 0, 0, 9]), 1, tokenizer);
    expect(next[0]).toMatchObject({ id: 5, text: null });
    expect(nextTokenLines(next)[0]).toMatch(/^ {3}1\. id 5 {2}\(no text\) {2}p 0\.\d{4}$/);
  });

  it('large logits do not overflow', () => {
    const next = nextTokens(Float32Array.from([1000, 999]), 2, null);
    expect(next[0]!.p).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  });

  it('printed texts are escaped', () => {
    const lines = nextTokenLines(nextTokens(Float32Array.from([0, 2, 1]), 3, tokenizer));
    expect(lines).toEqual([
      "   1. id 1  '\\n'  p 0.6652",
      "   2. id 2  'b\\x1b[2J'  p 0.2447",
      "   3. id 0  'a'  p 0.0900",
    ]);
    for (const line of lines) expect(line).not.toMatch(/[\p{Cc}]/u);
  });
});
