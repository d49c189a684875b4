// The page's query string: parsing, the round trip that makes links shareable, and the cost
// gate of exact verification. Plain Node: no browser needed.

import { describe, expect, test } from 'vitest';
import { GPT3, SMALL } from '../../src/index.js';
import { tokenEmbeddings } from '../../src/model/embeddings.js';
import { seededArray, streamKey } from '../../src/model/seeded.js';
import { DEFAULT_TEXT, parseState, serializeState } from '../../web/params.js';
import { refusal } from '../../web/verify.js';
import { pageWords } from '../../web/errors.js';

test('engine messages in the page words: field labels, not CLI flags', () => {
  expect(pageWords('--d-head must be a positive integer, got NaN')).toBe('“d_head” must be a positive integer, got an empty or non-numeric value');
  expect(pageWords('--seq 3000 exceeds the configured context of 2048 tokens')).toBe('“tokens (seq)” 3000 exceeds the configured context of 2048 tokens');
});

describe('page state in the URL', () => {
  test('defaults: small preset, the sentence, exact verification, no autorun', () => {
    expect(parseState('')).toEqual({
      preset: 'small', weights: 'seeded', bench: 0, orient: 'queries', scale: 'linear', overrides: {}, seed: 1, input: 'text', text: DEFAULT_TEXT,
      contextText: expect.any(String), verify: 'exact', attention: 'auto', autorun: false, force: false, steps: 8, temperature: 0, rows: true,
    });
  });

  test('CLI-style and camelCase names; malformed numbers stay NaN for validateConfig to name', () => {
    const s = parseState('?preset=gpt3&layers=1&d-model=64&dHead=16&mask=0&cross=1&seq=abc&seed=7&verify=none&autorun=1');
    expect(s.preset).toBe('gpt3');
    expect(s.overrides).toEqual({ layers: 1, dModel: 64, dHead: 16, mask: false, cross: true, seq: NaN });
    expect([s.seed, s.verify, s.autorun]).toEqual([7, 'none', true]);
  });

  test('serialize then parse gives the same state', () => {
    const s = parseState('?layers=3&heads=2&cross=1&mask=0&context-seq=5&input=text&text=hello%20world&context-text=x%20y&seed=9&attention=fused&example=chapter&bench=10&orient=keys&scale=log&preset=gpt3-widths');
    expect([s.weights, s.bench, s.orient, s.scale, s.preset]).toEqual(['chapter', 10, 'keys', 'log', 'gpt3-widths']);
    expect(s.attention).toBe('fused');
    expect(parseState('?attention=flash').attention).toBe('auto');
    const again = parseState(serializeState(s, true));
    expect(again).toEqual({ ...s, autorun: true });
    expect(serializeState(s)).not.toContain('autorun');
  });

  test('normalisation and precision: in the link only when set; unknown values kept for validateConfig to name', () => {
    const s = parseState('?norm=layernorm&precision=f16');
    expect(s.overrides).toEqual({ norm: 'layernorm', precision: 'f16' });
    expect(serializeState(s)).toMatch(/[?&]norm=layernorm&precision=f16(&|$)/);
    expect(parseState(serializeState(s))).toEqual(s);
    expect(serializeState(parseState('?preset=gpt3'))).not.toMatch(/norm|precision/);
    expect(parseState('?norm=rmsnorm').overrides.norm).toBe('rmsnorm');
    expect(pageWords("--norm must be none or layernorm, got 'rmsnorm'")).toBe("“normalisation” must be none or layernorm, got 'rmsnorm'");
    expect(pageWords('run: --precision f16 needs the adapter feature shader-f16, which X does not offer')).toBe('run: “precision” f16 needs the adapter feature shader-f16, which X does not offer');
  });
});

describe('exact verification cost gate', () => {
  test('small stacks are verified, GPT-3 is refused with a reason', () => {
    expect(refusal(SMALL)).toBeNull();
    expect(refusal({ ...GPT3, layers: 1, seq: 11, kvSeq: 11 })).toMatch(/^refused: .*“verification” to none/);
  });
});

test('token embeddings: one seeded stream per token id, rows repeat for repeated tokens', () => {
  const e = tokenEmbeddings([5, 9, 5], 8, 3);
  expect(e.subarray(0, 8)).toEqual(seededArray(streamKey(3, 0x40000000 + 5), 8, 1));
  expect(e.subarray(16, 24)).toEqual(e.subarray(0, 8));
  expect(e.subarray(8, 16)).not.toEqual(e.subarray(0, 8));
  expect(() => tokenEmbeddings([-1], 8, 3)).toThrow(RangeError);
});
