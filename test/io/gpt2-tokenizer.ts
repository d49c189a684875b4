// GPT-2's tokenizer.json built from js-tiktoken's gpt2 ranks (a devDependency), the way Hugging
// Face's TikTokenConverter does (transformers/convert_slow_tokenizer.py): each token's bytes
// through GPT-2's bytes-to-unicode map give the vocabulary (id = rank); each token of two or more
// bytes gives a merge for every split into two tokens that are both in the vocabulary, ordered by
// the merged token's rank (then by the parts' ranks). BPE with these merges reproduces tiktoken's
// rank-greedy merging. Pre-tokenizer and decoder: ByteLevel, GPT-2's regex; <|endoftext|> is 50256.

import gpt2 from 'js-tiktoken/ranks/gpt2';

/** GPT-2's map from bytes to printable characters (openai/gpt-2 encoder.py, bytes_to_unicode). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

/** js-tiktoken's compressed ranks ("! offset tok tok …", base64 tokens) as byte strings (latin1) → rank. */
export function gpt2Ranks(): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const line of (gpt2 as { bpe_ranks: string }).bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(' ');
    tokens.forEach((t, i) => ranks.set(Buffer.from(t, 'base64').toString('latin1'), Number(offset) + i));
  }
  return ranks;
}

export function gpt2TokenizerJson(): object {
  const ranks = gpt2Ranks();
  const byteChar = bytesToUnicode();
  const show = (bytes: string) => [...bytes].map((c) => byteChar[c.charCodeAt(0)]).join('');
  const vocab: Record<string, number> = {};
  const merges: [string, string, number, number, number][] = [];
  for (const [token, rank] of ranks) {
    vocab[show(token)] = rank;
    for (let i = 1; i < token.length; i++) {
      const l = token.slice(0, i);
      const r = token.slice(i);
      const rl = ranks.get(l);
      const rr = ranks.get(r);
      if (rl !== undefined && rr !== undefined) merges.push([l, r, rank, rl, rr]);
    }
  }
  merges.sort((a, b) => a[2] - b[2] || a[3] - b[3] || a[4] - b[4]);
  vocab['<|endoftext|>'] = 50256;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
      vocab, merges: merges.map(([l, r]) => `${show(l)} ${show(r)}`),
    },
  };
}
