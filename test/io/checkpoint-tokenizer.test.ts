// Tokenizers through @huggingface/tokenizers: GPT-2's own (its tokenizer.json built from
// js-tiktoken's gpt2 ranks by test/io/gpt2-tokenizer.ts, checked against tiktoken itself), the
// published fact "Hello world" → [15496, 995], and the --tokens / limit refusals.

import { describe, expect, it } from 'vitest';
import { getEncoding } from 'js-tiktoken';
import { CheckpointError, parseCheckpointConfig } from '../../src/io/checkpoint-config.js';
import { checkTokens, loadTokenizer, parseTokenList } from '../../src/io/checkpoint-tokenizer.js';
import { bytesToUnicode, gpt2TokenizerJson } from './gpt2-tokenizer.js';

describe("GPT-2's tokenizer", () => {
  const tokenizer = loadTokenizer(JSON.stringify(gpt2TokenizerJson()));

  it('"Hello world" → [15496, 995]', () => {
    expect(tokenizer.encode('Hello world')).toEqual([15496, 995]);
    expect(tokenizer.decode([15496, 995])).toBe('Hello world');
  });

  it('the converted tokenizer.json gives tiktoken\'s ids (the conversion is right)', () => {
    const tiktoken = getEncoding('gpt2');
    for (const text of [
      'a fluffy blue creature roamed the verdant forest',
      "It's 2026: naïve café — résumé, 123456789 and 3.14159!\n\n\tTabs  and   spaces?",
      'Ünïcödé ✓ 漢字 emoji 🙂 and <|endoftext|> as text',
      ' leading space, trailing space ',
    ]) {
      expect(tokenizer.encode(text), text).toEqual(tiktoken.encode(text, 'all'));
    }
  });

  it("bytes-to-unicode is GPT-2's map", () => {
    const map = bytesToUnicode();
    expect(new Set(map).size).toBe(256);
    expect(map[0x20]).toBe('Ġ');
    expect(map[0x0a]).toBe('Ċ');
    expect(map[0x41]).toBe('A');
  });
});

describe('token lists and limits', () => {
  const cfg = parseCheckpointConfig({ model_type: 'gpt2', n_layer: 1, n_head: 1, n_embd: 4, n_positions: 3, vocab_size: 10 });
  it('--tokens as given', () => {
    expect(parseTokenList('5,7, 9')).toEqual([5, 7, 9]);
    expect([...checkTokens([0, 9, 3], cfg, '--tokens')]).toEqual([0, 9, 3]);
  });
  it.each<[() => unknown, RegExp]>([
    [() => parseTokenList('5,,7'), /^--tokens must be token ids separated by commas \(e\.g\. 5,17,42\), got '5,,7'$/],
    [() => parseTokenList('5,-1'), /^--tokens: '-1' is not a non-negative integer token id$/],
    [() => parseTokenList('5,x\u001b'), /^--tokens: 'x\\x1b' is not a non-negative integer token id$/],
    [() => checkTokens([1, 10], cfg, '--tokens'), /^--tokens: token 1 has id 10, at or past the vocabulary of 10 \(config\.json vocab_size\)$/],
    [() => checkTokens([1, 2, 3, 4], cfg, '--text'), /^--text gives 4 tokens, more than the model's 3 positions \(config\.json n_positions\)$/],
    [() => checkTokens([], cfg, '--text'), /^--text gives no tokens/],
    [() => loadTokenizer('{', null, 'm/tokenizer.json'), /^m\/tokenizer\.json: not valid JSON/],
    [() => loadTokenizer('[]', null, 'm/tokenizer.json'), /^m\/tokenizer\.json: not a JSON object$/],
  ])('refused: %#', (f, message) => {
    expect(f).toThrow(CheckpointError);
    expect(f).toThrow(message);
  });
});
