// Untrusted text (tensor names, metadata, paths) is printed only escaped: no ESC, newline or
// bidi override reaches a terminal, long names are cut, and the CLI's last guard does the same.

import { describe, expect, it } from 'vitest';
import { escapeControls, escapeUntrusted, terminalSafeMessage } from '../../src/io/escape.js';

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

describe('escapeUntrusted', () => {
  it('ESC, CR, newline, tab, NUL, DEL and C1 controls become visible escapes', () => {
    expect(escapeUntrusted('\u001b[2K\rverification passed\n')).toBe('\\x1b[2K\\rverification passed\\n');
    expect(escapeUntrusted('a\tb\0c\u007fd\u009be')).toBe('a\\tb\\x00c\\x7fd\\x9be');
  });
  it('bidi overrides and isolates, zero-width and separator characters', () => {
    expect(escapeUntrusted('abc\u202eevil\u202c')).toBe('abc\\u202eevil\\u202c');
    expect(escapeUntrusted('\u2066x\u2069\u200b\u200e\ufeff\u2028\u2029')).toBe('\\u2066x\\u2069\\u200b\\u200e\\ufeff\\u2028\\u2029');
    expect(escapeUntrusted('tag\u{e0041}')).toBe('tag\\u{e0041}');
  });
  it('lone surrogates are escaped, pairs and other non-ASCII text kept', () => {
    expect(escapeUntrusted('a\ud800b\udc00')).toBe('a\\ud800b\\udc00');
    expect(escapeUntrusted('é 注意 \u{1f600}')).toBe('é 注意 \u{1f600}');
  });
  it('a backslash is doubled, so an escape in the output is never ambiguous', () => {
    expect(escapeUntrusted('\\x1b')).toBe('\\\\x1b');
    expect(escapeUntrusted('\\x1b')).not.toBe(escapeUntrusted('\u001b'));
  });
  it('long text is cut with an ellipsis, never inside an escape or a surrogate pair', () => {
    const long = 'layers.0.' + 'x'.repeat(500);
    const cut = escapeUntrusted(long, 40);
    expect(cut.length).toBe(40);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.startsWith('layers.0.xxx')).toBe(true);
    for (let n = 1; n < 30; n++) {
      const s = escapeUntrusted('ab\u001bcd\u{1f600}\u{1f600}\n'.repeat(4), n);
      expect(s.length).toBeLessThanOrEqual(n);
      expect(s).not.toMatch(UNSAFE);
      expect(s).toMatch(/^(a|b|\\x1b|c|d|\u{1f600}|\\n)*…$/u); // whole escapes and code points only
    }
    expect(escapeUntrusted('short', 5)).toBe('short');
    expect(escapeUntrusted('x'.repeat(3_000_000), 10)).toBe('xxxxxxxxx…');
  });
  it("keep 'end' cuts at the start: a path keeps its file name", () => {
    expect(escapeUntrusted('/a/b/c/d/e/f/weights.safetensors', 22, 'end')).toBe('…f/weights.safetensors');
    expect(escapeUntrusted('/dir/\nw.st', 7, 'end')).toBe('…\\nw.st');
  });
  it('whatever the input, the output is printable and bounded', () => {
    let s = '';
    for (let cp = 0; cp < 0x3000; cp += 7) s += String.fromCodePoint(cp);
    for (const max of [1, 10, 80, 5000]) {
      const out = escapeUntrusted(s, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out).not.toMatch(UNSAFE);
    }
  });
});

describe('escapeControls and the CLI guard', () => {
  it('escapes controls but keeps backslashes (the text is already escaped at its source)', () => {
    expect(escapeControls('tensor \'\\x1b\' \u001b[31m')).toBe('tensor \'\\x1b\' \\x1b[31m');
    expect(escapeControls('a\nb')).toBe('a\\nb');
    expect(escapeControls('abcdef', 4)).toBe('abc…');
  });
  it('terminalSafeMessage: each line escaped and cut, continuation lines indented', () => {
    const m = terminalSafeMessage('WGSL compilation failed:\n  matmul.wgsl:3:1 \u001b[2Kerror\n\u202everification passed');
    expect(m).toBe('WGSL compilation failed:\n    matmul.wgsl:3:1 \\x1b[2Kerror\n  \\u202everification passed');
    expect(m.split('\n').slice(1).every((l) => l.startsWith('  '))).toBe(true);
    const many = terminalSafeMessage(Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n'), 1000, 5);
    expect(many.split('\n')).toHaveLength(6);
    expect(many).toMatch(/… \(95 more lines\)$/);
    expect(terminalSafeMessage('x'.repeat(5000), 100).length).toBe(100);
  });
});
