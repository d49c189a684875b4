// The header's scanner: exactly the format's grammar, without JSON.parse (which would merge
// duplicate names and recurse without bound). Used by parseSafetensorsHeader.

import { escapeUntrusted } from './escape.js';
import { fileLabel, quoteName, METADATA_KEY, SafetensorsError, type SafetensorsRule } from './safetensors-core.js';

export interface RawEntry {
  name: string;
  dtype?: string;
  shape?: number[];
  offsets?: number[];
}


/**
 * A scanner for exactly the header's grammar: {name: {dtype: string, shape: [int…],
 * data_offsets: [int…]}, "__metadata__": {string: string}} followed by spaces. Values are never
 * nested deeper than that, so no input can make it recurse; duplicate names and fields, which
 * JSON.parse would silently merge, are seen as they are read.
 */
export class HeaderScanner {
  private pos = 0;
  constructor(private readonly text: string, private readonly what: string) {}

  header(): { entries: RawEntry[]; metadata: Record<string, string> } {
    const entries: RawEntry[] = [];
    const seen = new Set<string>();
    let metadata: Record<string, string> | null = null;
    this.expect('{', 'the header must be a JSON object');
    this.ws();
    if (this.peek() !== '}') {
      for (;;) {
        const name = this.string('a tensor name');
        this.ws();
        this.expect(':', `':' after the name ${quoteName(name)}`);
        this.ws();
        if (name === METADATA_KEY) {
          if (metadata) this.fail('duplicate-name', `"${METADATA_KEY}" appears twice`);
          metadata = this.metadata();
        } else {
          if (seen.has(name)) this.fail('duplicate-name', 'the name appears twice in the header (a reader would keep one of them)', name);
          seen.add(name);
          entries.push(this.entry(name));
        }
        this.ws();
        if (this.peek() === ',') {
          this.pos++;
          this.ws();
          continue;
        }
        this.expect('}', "',' or '}' after an entry");
        break;
      }
    } else {
      this.pos++;
    }
    // Padding: spaces (0x20) only, nothing else after the closing brace.
    for (let i = this.pos; i < this.text.length; i++) {
      if (this.text.charCodeAt(i) !== 0x20) {
        const c = this.text[i]!;
        const what = c === '\t' || c === '\n' || c === '\r' ? `whitespace other than a space (${escapeUntrusted(c)})` : `${quoteName(this.text.slice(i, i + 12))}`;
        this.failAt(i, 'header-padding', `after the header's closing } comes ${what}; only spaces (0x20) may pad the header`);
      }
    }
    return { entries, metadata: metadata ?? {} };
  }

  private entry(name: string): RawEntry {
    if (this.peek() !== '{') {
      this.fail('nesting', `the entry must be an object {dtype, shape, data_offsets}, found ${this.kind()}`, name);
    }
    this.pos++;
    const e: RawEntry = { name };
    const fields = new Set<string>();
    this.ws();
    if (this.peek() === '}') {
      this.pos++;
      return e;
    }
    for (;;) {
      const field = this.string(`a field of ${quoteName(name)}`);
      this.ws();
      this.expect(':', `':' after the field ${quoteName(field)}`);
      this.ws();
      if (fields.has(field)) this.fail('entry', `the field ${quoteName(field)} appears twice`, name);
      fields.add(field);
      if (field === 'dtype') {
        if (this.peek() !== '"') this.fail('dtype', `"dtype" must be a string, found ${this.kind()}`, name);
        e.dtype = this.string('the dtype');
      } else if (field === 'shape') {
        e.shape = this.integers(name, 'shape');
      } else if (field === 'data_offsets') {
        e.offsets = this.integers(name, 'offsets');
      } else {
        this.fail('entry', `unknown field ${quoteName(field)} (an entry is {dtype, shape, data_offsets})`, name);
      }
      this.ws();
      if (this.peek() === ',') {
        this.pos++;
        this.ws();
        continue;
      }
      this.expect('}', `',' or '}' in the entry of ${quoteName(name)}`);
      return e;
    }
  }

  /** An array of non-negative safe integers (shape or data_offsets). */
  private integers(name: string, rule: 'shape' | 'offsets'): number[] {
    const field = rule === 'shape' ? '"shape"' : '"data_offsets"';
    const needs = `${field} must be an array of non-negative integers`;
    if (this.peek() !== '[') this.fail(rule, `${needs}, found ${this.kind()}`, name);
    this.pos++;
    const out: number[] = [];
    this.ws();
    if (this.peek() === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      const c = this.peek();
      if (!(c === '-' || (c >= '0' && c <= '9'))) this.fail(rule, `${needs}, found ${this.kind()} in it`, name);
      const token = this.number();
      if (!/^(0|[1-9][0-9]*)$/.test(token) || !Number.isSafeInteger(Number(token))) {
        this.fail(rule, `${needs} (at most 2^53 − 1), found ${escapeUntrusted(token, 24)}`, name);
      }
      out.push(Number(token));
      this.ws();
      if (this.peek() === ',') {
        this.pos++;
        this.ws();
        continue;
      }
      this.expect(']', `',' or ']' in ${field} of ${quoteName(name)}`);
      return out;
    }
  }

  private metadata(): Record<string, string> {
    const out: Record<string, string> = Object.create(null);
    if (this.peek() !== '{') this.fail('metadata', `"${METADATA_KEY}" must be an object of string → string, found ${this.kind()}`);
    this.pos++;
    this.ws();
    if (this.peek() === '}') {
      this.pos++;
      return { ...out };
    }
    const keys = new Set<string>();
    for (;;) {
      const key = this.string('a metadata key');
      this.ws();
      this.expect(':', `':' after the metadata key ${quoteName(key)}`);
      this.ws();
      if (keys.has(key)) this.fail('duplicate-name', `the metadata key ${quoteName(key)} appears twice`);
      keys.add(key);
      if (this.peek() !== '"') {
        this.fail('metadata', `"${METADATA_KEY}" values must be strings; ${quoteName(key)} holds ${this.kind()}`);
      }
      out[key] = this.string('a metadata value');
      this.ws();
      if (this.peek() === ',') {
        this.pos++;
        this.ws();
        continue;
      }
      this.expect('}', `',' or '}' in "${METADATA_KEY}"`);
      // A plain object (not null-prototype) for callers; '__proto__' is set as an own key.
      const plain: Record<string, string> = {};
      for (const k of Object.keys(out)) Object.defineProperty(plain, k, { value: out[k], enumerable: true, writable: true, configurable: true });
      return plain;
    }
  }

  /** A JSON string (the scanner is at its opening quote), with every escape checked. */
  private string(role: string): string {
    if (this.peek() !== '"') this.fail('header-json', `expected ${role} (a JSON string), found ${this.kind()}`);
    const t = this.text;
    let i = this.pos + 1;
    let out = '';
    let runStart = i;
    for (;;) {
      if (i >= t.length) this.failAt(this.pos, 'header-json', `unterminated string (${role})`);
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        out += t.slice(runStart, i);
        this.pos = i + 1;
        return out;
      }
      if (c < 0x20) this.failAt(i, 'header-json', `a raw control character ${escapeUntrusted(t[i]!)} inside a string (JSON needs an escape)`);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += t.slice(runStart, i);
      const e = t[i + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === 'u') {
        const unit = this.hex4(i + 2);
        i += 6;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = t[i] === '\\' && t[i + 1] === 'u' ? this.hex4(i + 2) : -1;
          if (low < 0xdc00 || low > 0xdfff) this.failAt(i - 6, 'header-json', `a lone surrogate escape \\u${unit.toString(16)} in a string`);
          out += String.fromCharCode(unit, low);
          i += 6;
        } else if (unit >= 0xdc00 && unit <= 0xdfff) {
          this.failAt(i - 6, 'header-json', `a lone surrogate escape \\u${unit.toString(16)} in a string`);
        } else {
          out += String.fromCharCode(unit);
        }
      } else {
        this.failAt(i, 'header-json', `an invalid escape ${escapeUntrusted('\\' + (e ?? ''))} in a string`);
      }
      runStart = i;
    }
  }

  private hex4(at: number): number {
    const h = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.failAt(at, 'header-json', `an invalid \\u escape in a string`);
    return parseInt(h, 16);
  }

  /** A JSON number token (validated against JSON's grammar), returned as text. */
  private number(): string {
    const start = this.pos;
    const t = this.text;
    let i = start;
    while (i < t.length && /[-+.eE0-9]/.test(t[i]!)) i++;
    const token = t.slice(start, i);
    if (!/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(token)) {
      this.failAt(start, 'header-json', `an invalid JSON number ${escapeUntrusted(token, 24)}`);
    }
    this.pos = i;
    return token;
  }

  private ws(): void {
    const t = this.text;
    let i = this.pos;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private expect(c: string, what: string): void {
    if (this.peek() !== c) this.fail('header-json', `expected ${what}, found ${this.kind()}`);
    this.pos++;
  }

  /** What the next value is, in words, for messages. */
  private kind(): string {
    const c = this.peek();
    if (c === '') return 'the end of the header';
    if (c === '{') return 'an object';
    if (c === '[') return 'an array';
    if (c === '"') return 'a string';
    if (c === '-' || (c >= '0' && c <= '9')) return 'a number';
    if (this.text.startsWith('true', this.pos) || this.text.startsWith('false', this.pos)) return 'a boolean';
    if (this.text.startsWith('null', this.pos)) return 'null';
    return quoteName(this.text.slice(this.pos, this.pos + 12));
  }

  private fail(rule: SafetensorsRule, detail: string, tensor?: string): never {
    this.failAt(this.pos, rule, detail, tensor);
  }

  private failAt(at: number, rule: SafetensorsRule, detail: string, tensor?: string): never {
    const where = tensor === undefined ? '' : `tensor ${quoteName(tensor)}: `;
    throw new SafetensorsError(`${fileLabel(this.what)}: ${where}${detail} (header character ${at})`, rule, tensor);
  }
}

/** Offset of the first byte where UTF-8 decoding fails (for the message). */
export function firstInvalidUtf8(raw: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let lo = 0, hi = raw.length;
  // The longest valid prefix, by bisection (a prefix may end mid-sequence: allow 3 bytes of slack).
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    try {
      decoder.decode(raw.subarray(0, mid), { stream: true });
      decoder.decode();
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}
