// safetensors: an 8-byte little-endian u64 header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}},
// then the data area; data_offsets are relative to the data area's start (8 + N).
// Pure TypeScript (no Node imports) so it also runs in a browser or a Web Worker.
//
// The reader is strict: a file is accepted only when it follows every rule of the format
// (https://github.com/huggingface/safetensors, "Format"), because a file that bends one (a header
// length a few bytes short, a duplicate name, a hole between tensors) is read wrong by some
// reader, silently. The rules, each refused with its own SafetensorsError.rule:
//   prefix          the file holds at least the 8-byte header length
//   header-size     N ≤ 100,000,000 and 8 + N ≤ the file size
//   header-start    the header begins with '{' (no BOM, no whitespace before it)
//   header-utf8     the header is valid UTF-8
//   header-json     the header is valid JSON (strings without lone surrogate escapes)
//   header-padding  after the closing '}' only spaces (0x20)
//   nesting         a flat object of entries: {name: {dtype, shape: [..], data_offsets: [..]}},
//                   nothing nested deeper (checked while scanning, so depth never recurses)
//   duplicate-name  no tensor name (or __metadata__) twice, no metadata key twice
//   entry           an entry has exactly the fields dtype, shape and data_offsets, once each
//   metadata        __metadata__ is an object of string → string
//   dtype           a dtype of the format (DTYPE_SIZE)
//   shape           shape is an array of non-negative safe integers
//   offsets         data_offsets is [begin, end] of non-negative safe integers, begin ≤ end
//   byte-length     end − begin = product(shape) · dtype size
//   out-of-bounds   end ≤ the data area's size
//   data-start      sorted by offset, the tensors start at byte 0 of the data area
//   hole            … and each starts where the previous one ends (no hole)
//   overlap         … (no overlap)
//   trailing-bytes  … and the last one ends at the end of the file
// Reading adds: missing-tensor, tensor-dtype, tensor-shape, truncated, non-finite.
// Every message is one line of at most MAX_MESSAGE characters naming the file, the tensor and
// the rule; names, keys and paths are escaped (escapeUntrusted) and cut.

import { escapeControls, escapeUntrusted } from './escape.js';

export type SafetensorsRule =
  | 'prefix' | 'header-size' | 'header-start' | 'header-utf8' | 'header-json' | 'header-padding'
  | 'nesting' | 'duplicate-name' | 'entry' | 'metadata' | 'dtype' | 'shape' | 'offsets' | 'byte-length'
  | 'out-of-bounds' | 'data-start' | 'hole' | 'overlap' | 'trailing-bytes'
  | 'missing-tensor' | 'tensor-dtype' | 'tensor-shape' | 'truncated' | 'non-finite'
  | 'layer-set' | 'write' | 'format';

/** Longest message a SafetensorsError carries (one line). */
export const MAX_MESSAGE = 300;

export class SafetensorsError extends Error {
  /**
   * `rule`: which rule of the format (or of the model's naming) the file breaks;
   * `tensor`: the tensor concerned, raw (unescaped; escape it before printing).
   */
  constructor(message: string, readonly rule: SafetensorsRule = 'format', readonly tensor?: string) {
    // Parts quoted from a file are escaped where the message is built; this guard keeps any
    // message one printable line of bounded length whatever a caller passes.
    super(escapeControls(message, MAX_MESSAGE));
    this.name = 'SafetensorsError';
  }
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offsets into the file's bytes (data area start already added). */
  begin: number;
  end: number;
}

export interface ParsedSafetensors {
  /** In the header's order. */
  tensors: Map<string, TensorInfo>;
  /** Byte offset of the data area: 8 + header length. */
  dataStart: number;
  /** Size of the data area: the file size minus dataStart (the tensors cover it exactly). */
  dataSize: number;
  metadata: Record<string, string>;
}

/** Bytes per element of every byte-sized dtype the format defines (sub-byte F4/F6 are not read). */
export const DTYPE_SIZE: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
});

/** The reference implementation refuses headers over 100 MB; so do we (guards absurd lengths). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

/** A file's label in messages: escaped, long paths cut at the start (the file name stays). */
export const fileLabel = (what: string): string => escapeUntrusted(what, 100, 'end');
/** A tensor name or metadata key in messages, quoted: escaped, cut at 64 characters. */
export const quoteName = (name: string): string => `'${escapeUntrusted(name, 64)}'`;

function fail(what: string, rule: SafetensorsRule, detail: string, tensor?: string, namedInDetail = false): never {
  const where = tensor === undefined || namedInDetail ? '' : `tensor ${quoteName(tensor)}: `;
  throw new SafetensorsError(`${fileLabel(what)}: ${where}${detail}`, rule, tensor);
}

/**
 * Length N of the JSON header, from the first 8 bytes of a file. With it a caller can read
 * only bytes [0, 8 + N) of a huge file and pass them to parseSafetensorsHeader with the file size.
 */
export function headerLength(prefix: Uint8Array, what = 'file'): number {
  if (prefix.length < 8) {
    fail(what, 'prefix', `${prefix.length} bytes is shorter than the 8-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(what, 'header-size', `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  return Number(n);
}

/**
 * Parses and validates the header against every rule of the format. `bytes` holds the whole
 * file, or at least its first 8 + N bytes when `fileSize` (the whole file's size) is given.
 * `what` names the file in messages (a path; it is escaped there).
 */
export function parseSafetensorsHeader(bytes: Uint8Array, what = 'file', fileSize = bytes.length): ParsedSafetensors {
  const n = headerLength(bytes, what);
  const dataStart = 8 + n;
  if (dataStart > fileSize) {
    fail(what, 'header-size', `header length ${n} exceeds the file size ${fileSize} (at most ${Math.max(0, fileSize - 8)} bytes after the 8-byte prefix)`);
  }
  if (dataStart > bytes.length) {
    fail(what, 'header-size', `header length ${n} exceeds the ${bytes.length} bytes given (pass at least 8 + ${n})`);
  }
  const raw = bytes.subarray(8, dataStart);
  if (raw.length === 0) fail(what, 'header-start', 'the header is empty; it must be a JSON object beginning with {');
  if (raw[0] !== 0x7b) {
    const found = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 'a UTF-8 byte order mark'
      : `byte 0x${raw[0]!.toString(16).padStart(2, '0')}`;
    fail(what, 'header-start', `the header must begin with { (0x7b), found ${found}`);
  }
  let text: string;
  try {
    // ignoreBOM: a BOM would be kept, not stripped (it is refused above in any case).
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    fail(what, 'header-utf8', `the header is not valid UTF-8 (at or after byte ${firstInvalidUtf8(raw) + 8} of the file)`);
  }
  const dataSize = fileSize - dataStart;
  const { entries, metadata } = new HeaderScanner(text, what).header();

  const tensors = new Map<string, TensorInfo>();
  for (const e of entries) tensors.set(e.name, checkEntry(e, what, dataStart, dataSize));
  checkCoverage([...tensors.values()], what, dataStart, dataSize);
  return { tensors, dataStart, dataSize, metadata };
}

interface RawEntry {
  name: string;
  dtype?: string;
  shape?: number[];
  offsets?: number[];
}

/** Checks one entry's dtype, shape and offsets against each other and the data area. */
function checkEntry(e: RawEntry, what: string, dataStart: number, dataSize: number): TensorInfo {
  const { name } = e;
  for (const field of ['dtype', 'shape', 'data_offsets'] as const) {
    if ((field === 'data_offsets' ? e.offsets : e[field]) === undefined) {
      fail(what, 'entry', `the entry lacks "${field}" (an entry is {dtype, shape, data_offsets})`, name);
    }
  }
  const dtype = e.dtype!, shape = e.shape!, offsets = e.offsets!;
  const size = DTYPE_SIZE[dtype];
  if (size === undefined) {
    fail(what, 'dtype', `unknown dtype ${quoteName(dtype)} (known: ${Object.keys(DTYPE_SIZE).join(', ')})`, name);
  }
  if (offsets.length !== 2) {
    fail(what, 'offsets', `"data_offsets" must be [begin, end], got ${offsets.length} numbers`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(what, 'offsets', `data_offsets [${begin}, ${end}] has begin > end`, name);
  const count = elementCount(shape);
  const expected = count === null ? null : count * size;
  if (expected === null || !Number.isSafeInteger(expected)) {
    fail(what, 'byte-length', `${dtype} shape [${shortList(shape)}] has more bytes than a safe integer holds`, name);
  }
  if (end - begin !== expected) {
    fail(what, 'byte-length', `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} shape [${shortList(shape)}] needs ${expected}`, name);
  }
  if (end > dataSize) {
    fail(what, 'out-of-bounds', `data_offsets [${begin}, ${end}] exceed the data area of ${dataSize} bytes`, name);
  }
  return { name, dtype, shape, begin: dataStart + begin, end: dataStart + end };
}

/**
 * Sorted by offset, the tensors must tile the data area: the first starts at byte 0, each starts
 * where the previous ends, the last ends at the end of the file (no hole, overlap or trailing byte:
 * bytes no tensor owns could hide a second file, and trailing bytes are what a header length a
 * few bytes short leaves).
 */
function checkCoverage(infos: TensorInfo[], what: string, dataStart: number, dataSize: number): void {
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataStart;
  let previous: TensorInfo | null = null;
  for (const t of sorted) {
    const rel = (x: number) => x - dataStart;
    if (t.begin > cursor) {
      if (!previous) {
        fail(what, 'data-start', `the first tensor by offset starts at byte ${rel(t.begin)} of the data area; tensors must start at byte 0`, t.name);
      }
      fail(what, 'hole', `data_offsets [${rel(t.begin)}, ${rel(t.end)}] leave a hole of ${t.begin - cursor} bytes after ${quoteName(previous.name)}, which ends at ${rel(cursor)} (tensors must cover the data area with no hole)`, t.name);
    }
    if (t.begin < cursor) {
      fail(what, 'overlap', `data_offsets [${rel(t.begin)}, ${rel(t.end)}] overlap ${quoteName(previous!.name)} [${rel(previous!.begin)}, ${rel(previous!.end)}]`, t.name);
    }
    cursor = t.end;
    previous = t;
  }
  const covered = cursor - dataStart;
  if (covered !== dataSize) {
    const after = previous ? `after the last tensor ${quoteName(previous.name)}` : 'and no tensor owns them';
    fail(what, 'trailing-bytes', `the data area holds ${dataSize - covered} bytes ${after} (tensors must cover it exactly; a header length too short leaves such bytes)`);
  }
}

/**
 * A scanner for exactly the header's grammar: {name: {dtype: string, shape: [int…],
 * data_offsets: [int…]}, "__metadata__": {string: string}} followed by spaces. Values are never
 * nested deeper than that, so no input can make it recurse; duplicate names and fields, which
 * JSON.parse would silently merge, are seen as they are read.
 */
class HeaderScanner {
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
function firstInvalidUtf8(raw: Uint8Array): number {
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

/** The header entry of an F32 tensor, checked for presence, dtype and shape (no data read). */
export function f32TensorInfo(parsed: ParsedSafetensors, name: string, expectedShape?: number[], what = 'file'): TensorInfo {
  const info = parsed.tensors.get(name);
  if (!info) {
    const names = [...parsed.tensors.keys()];
    const shown = names.slice(0, 4).map((s) => `'${escapeUntrusted(s, 40)}'`).join(', ');
    const more = names.length > 4 ? `, … (${names.length} in all)` : '';
    fail(what, 'missing-tensor', `no tensor ${quoteName(name)}; it has ${names.length ? shown + more : 'no tensors'}`);
  }
  if (info.dtype !== 'F32') fail(what, 'tensor-dtype', `tensor ${quoteName(name)} has dtype ${info.dtype}, expected F32`, name, true);
  if (expectedShape && !sameShape(info.shape, expectedShape)) {
    fail(what, 'tensor-shape', `tensor ${quoteName(name)} has shape [${shortList(info.shape)}], expected [${expectedShape.join(', ')}]`, name, true);
  }
  return info;
}

/** The raw bytes of one tensor (any dtype), a view into `bytes`. */
export function tensorBytes(bytes: Uint8Array, parsed: ParsedSafetensors, name: string, what = 'file'): Uint8Array {
  const info = parsed.tensors.get(name);
  if (!info) fail(what, 'missing-tensor', `no tensor ${quoteName(name)}`);
  if (info.end > bytes.length) {
    fail(what, 'truncated', `tensor ${quoteName(name)} ends at byte ${info.end} but only ${bytes.length} bytes were given`, name, true);
  }
  return bytes.subarray(info.begin, info.end);
}

/**
 * One F32 tensor as an aligned Float32Array copy (the data in the file may sit at any
 * byte offset), checked for dtype, shape and finite values.
 */
export function getF32(
  bytes: Uint8Array,
  parsed: ParsedSafetensors,
  name: string,
  expectedShape?: number[],
  what = 'file',
): Float32Array {
  f32TensorInfo(parsed, name, expectedShape, what);
  const out = decodeF32(tensorBytes(bytes, parsed, name, what));
  assertFinite(name, out, what);
  return out;
}

/** Little-endian f32 bytes to a fresh, aligned Float32Array. */
export function decodeF32(raw: Uint8Array): Float32Array {
  const out = new Float32Array(raw.length >>> 2);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(raw.subarray(0, out.length * 4));
  } else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/** Throws naming the tensor and the first NaN/Inf: a poisoned weight would spoil every comparison. */
export function assertFinite(name: string, data: ArrayLike<number>, what = 'file'): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) fail(what, 'non-finite', `tensor ${quoteName(name)} has a non-finite value ${v} at index ${i}`, name, true);
  }
}

/**
 * F32 tensors to safetensors bytes. The header lists `__metadata__` (string → string, keys
 * sorted) first, then the tensors sorted by name (UTF-16 code unit order); the data area holds
 * them in that order, back to back from byte 0. The header is padded with spaces so the data
 * area starts at a multiple of 8 bytes, as the reference implementation does. The result is
 * checked by the strict reader before it is returned.
 */
export function serializeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const bad = (detail: string, tensor?: string): never => fail('write', 'write', detail, tensor);
  const names = Object.keys(tensors).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const kv: string[] = [];
    for (const k of keys) {
      const v = metadata[k];
      if (typeof v !== 'string') bad(`metadata ${quoteName(k)} must be a string, got ${typeof v}`);
      if (!isWellFormed(k) || !isWellFormed(v)) bad(`metadata ${quoteName(k)} holds a lone surrogate (not UTF-8)`);
      kv.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${kv.join(',')}}`);
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    if (name === METADATA_KEY) bad(`the name ${METADATA_KEY} is reserved`);
    if (!isWellFormed(name)) bad('the name holds a lone surrogate (not UTF-8)', name);
    if (!t.shape.every((d) => isIndex(d))) bad(`shape [${shortList(t.shape)}] is not non-negative integers`, name);
    const count = elementCount(t.shape);
    if (count === null || t.data.length !== count) {
      return bad(`shape [${shortList(t.shape)}] needs ${count ?? 'too many'} values, got ${t.data.length}`, name);
    }
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + 4 * count}]}`);
    offset += 4 * count;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const name of names) {
    const data = tensors[name]!.data;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else {
      const view = new DataView(out.buffer);
      for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i]!, true);
    }
    at += data.byteLength;
  }
  parseSafetensorsHeader(out, 'written file'); // the writer's output always passes the reader
  return out;
}

/** Tensor names of the model's layout (PyTorch Linear: weight [out, in], bias [out]). */
export const weightName = (layer: number, proj: 'q' | 'k' | 'v' | 'o', kind: 'weight' | 'bias' = 'weight'): string =>
  `layers.${layer}.self_attn.${proj}_proj.${kind}`;

/** The pre-attention LayerNorm of a layer: weight (gain) and bias, each [d_model]. */
export const layerNormName = (layer: number, kind: 'weight' | 'bias'): string => `layers.${layer}.input_layernorm.${kind}`;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** product(shape), or null past 2^53 (a zero dimension makes it 0 whatever the others). */
function elementCount(shape: readonly number[]): number | null {
  if (shape.some((d) => d === 0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** A shape or list for messages: at most 8 entries. */
function shortList(xs: readonly unknown[]): string {
  return xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, … (${xs.length} in all)`;
}

function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
