// Text that came from outside (tensor names, metadata, file paths) is shown only escaped: a
// control character, an ESC, a newline or a bidi override in a tensor name must not be able to
// move the cursor, recolour the terminal or forge a line such as "verification passed".
// Pure TypeScript (no Node imports): the CLI, the page and the worker share it.

/**
 * Characters never shown raw: C0 and C1 controls and DEL (Cc), format characters such as bidi
 * overrides and isolates, zero-width joiners and the BOM (Cf), line and paragraph separators
 * (Zl, Zp), lone surrogates (Cs) and private-use code points (Co).
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}]/u;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The visible escape of one unsafe code point: \n, \x1b, \u202e, \u{e0001}. */
function escapeChar(c: string): string {
  const short = SHORT[c];
  if (short) return short;
  const cp = c.codePointAt(0)!;
  if (cp <= 0xff) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp <= 0xffff) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\u{' + cp.toString(16) + '}';
}

/** The text as printable pieces, one per code point (an escape is one piece, never split). */
function pieces(text: string, escapeBackslash: boolean): string[] {
  const out: string[] = [];
  // Iterating a string walks code points; lone surrogates come out as single units.
  for (const c of text) out.push(escapeBackslash && c === '\\' ? '\\\\' : UNSAFE.test(c) ? escapeChar(c) : c);
  return out;
}

/** Joins pieces, cut to maxLength characters with an ellipsis at the end or the start. */
function fit(parts: string[], maxLength: number, keep: 'start' | 'end'): string {
  let length = 0;
  for (const p of parts) length += p.length;
  if (length <= maxLength) return parts.join('');
  const budget = Math.max(0, maxLength - 1);
  const kept: string[] = [];
  let used = 0;
  const order = keep === 'start' ? parts : [...parts].reverse();
  for (const p of order) {
    if (used + p.length > budget) break;
    kept.push(p);
    used += p.length;
  }
  return keep === 'start' ? kept.join('') + '…' : '…' + kept.reverse().join('');
}

/**
 * Untrusted text made safe to print on one line: every control, format or separator character
 * becomes a visible escape (ESC → `\x1b`, newline → `\n`, U+202E → `\u202e`), a backslash
 * becomes `\\` so an escape in the output is never ambiguous, and text longer than `maxLength`
 * characters (after escaping) is cut with an ellipsis, at its end (`keep: 'start'`, for names)
 * or at its start (`keep: 'end'`, for paths, whose file name is the informative part).
 * No escape is ever cut in half.
 */
export function escapeUntrusted(text: string, maxLength = 80, keep: 'start' | 'end' = 'start'): string {
  return fit(pieces(clip(String(text), maxLength, keep), true), maxLength, keep);
}

/**
 * The last guard before a terminal: escapes control, format and separator characters (not
 * backslashes: the text is the program's own message, already escaped where it quotes input)
 * and cuts the result to `maxLength` characters. The result is one line.
 */
export function escapeControls(text: string, maxLength = Infinity): string {
  const s = String(text);
  if (!UNSAFE.test(s) && s.length <= maxLength) return s;
  return fit(pieces(clip(s, maxLength, 'start'), false), maxLength, 'start');
}

/**
 * A huge text (a 4 MB tensor name) need not be walked whole: escaping never shortens, so past
 * maxLength + 2 code units the rest is cut anyway (a surrogate half split off here falls in it).
 */
function clip(s: string, maxLength: number, keep: 'start' | 'end'): string {
  const room = maxLength + 2;
  if (s.length <= room) return s;
  return keep === 'start' ? s.slice(0, room) : s.slice(s.length - room);
}

/**
 * An error message for a terminal: each line passed through escapeControls (at most
 * `maxLineLength` characters each, at most `maxLines` lines), continuation lines indented so
 * that no line of a message can pass for a line of the program's own report.
 */
export function terminalSafeMessage(message: string, maxLineLength = 1000, maxLines = 60): string {
  const lines = String(message).split('\n');
  const shown = lines.slice(0, maxLines).map((l) => escapeControls(l, maxLineLength));
  if (lines.length > maxLines) shown.push(`… (${lines.length - maxLines} more lines)`);
  return shown.join('\n  ');
}
