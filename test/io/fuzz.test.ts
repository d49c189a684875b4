// Fuzzing the strict reader: seeded mutations (src/model/seeded.ts's hash32, no Math.random) of
// valid files go through the library (parseSafetensorsHeader, then every tensor's bytes and the
// F32 values). For each mutant:
//   - a refusal is a SafetensorsError (one printable line of bounded length), never another throw;
//   - the reader accepts exactly the files that an independent, simple checker written here
//     (JSON.parse plus a token count) finds to follow every rule: nothing against the rules is
//     accepted, and nothing within them refused;
//   - an accepted file is never misread: each tensor's bytes are the bytes at its declared
//     offsets, its F32 values those bytes read little-endian, and where the mutation changed
//     only the header's formatting (whitespace, padding, entry order, escapes) every tensor equals
//     the original's.
// FUZZ_MUTATIONS and FUZZ_SEED (environment) run more or other mutations.

import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE, SafetensorsError, getF32, parseSafetensorsHeader, serializeSafetensors, tensorBytes } from '../../src/io/safetensors.js';
import { hash32 } from '../../src/model/seeded.js';
import { rawFile, seededBytes } from './regressions/cases.js';

const MUTATIONS = Number(process.env.FUZZ_MUTATIONS ?? 6000);
const SEED = Number(process.env.FUZZ_SEED ?? 20240601);

// ---------------------------------------------------------------------------------------------
// The independent checker: the format's rules, as plainly as they can be written.

const SIZES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1, U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4, U64: 8, I64: 8, F64: 8,
};

interface Checked { dataStart: number; tensors: Map<string, { dtype: string; shape: number[]; begin: number; end: number }> }

/** null when the file follows every rule, else the broken rule in words. */
function check(bytes: Uint8Array): string | Checked {
  if (bytes.length < 8) return 'shorter than 8 bytes';
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (n > 16 * 1024 * 1024 || 8 + n > bytes.length) return 'header length';
  const raw = bytes.subarray(8, 8 + n);
  if (raw[0] !== 0x7b) return 'does not begin with {';
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    return 'not UTF-8';
  }
  const json = text.replace(/ +$/, '');
  if (!json.endsWith('}')) return 'padding other than spaces';
  // Depth first (JSON.parse recurses): the format needs object → entry → array, 3 levels.
  let depth = 0;
  for (const m of json.matchAll(/"(?:[^"\\]|\\.)*"|[[{]|[\]}]/g)) {
    if (m[0] === '[' || m[0] === '{') {
      if (++depth > 3) return 'nested deeper than the format';
    } else if (m[0] === ']' || m[0] === '}') depth--;
  }
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch {
    return 'not JSON';
  }
  // Tokens outside strings: every number must be a plain non-negative integer, and the number
  // of keys written must equal the number of keys JSON.parse kept (else a key was repeated).
  let keysWritten = 0;
  for (const m of json.matchAll(/"(?:[^"\\]|\\.)*"(\s*:)?|[-+0-9.eE]+/g)) {
    if (m[0].startsWith('"')) {
      if (m[1]) keysWritten++;
      if (/\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])/.test(m[0]) || /(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]/.test(m[0])) return 'lone surrogate';
    } else if (!/^(0|[1-9][0-9]*)$/.test(m[0])) {
      return 'a number that is not a non-negative integer';
    }
  }
  let keysKept = 0;
  const count = (v: unknown): void => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const k of Object.keys(v)) {
        keysKept++;
        count((v as Record<string, unknown>)[k]);
      }
    } else if (Array.isArray(v)) v.forEach(count);
  };
  count(header);
  if (keysKept !== keysWritten) return 'a repeated key';
  if (!header || typeof header !== 'object' || Array.isArray(header)) return 'not an object';
  const dataStart = 8 + n;
  const dataSize = bytes.length - dataStart;
  const tensors: Checked['tensors'] = new Map();
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return 'metadata not an object';
      if (!Object.values(v).every((s) => typeof s === 'string')) return 'metadata not strings';
      continue;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return 'entry not an object';
    const e = v as Record<string, unknown>;
    if (Object.keys(e).sort().join() !== 'data_offsets,dtype,shape') return 'entry fields';
    if (typeof e.dtype !== 'string' || !(e.dtype in SIZES)) return 'dtype';
    const isInts = (a: unknown): a is number[] => Array.isArray(a) && a.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (!isInts(e.shape) || !isInts(e.data_offsets) || e.data_offsets.length !== 2) return 'shape or offsets';
    const [begin, end] = e.data_offsets as [number, number];
    if (begin > end || end > dataSize) return 'offsets out of order or range';
    let elements = 1n;
    for (const d of e.shape) elements *= BigInt(d);
    if (BigInt(end - begin) !== elements * BigInt(SIZES[e.dtype]!)) return 'byte length';
    tensors.set(name, { dtype: e.dtype, shape: e.shape, begin, end });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    if (t.begin !== at) return 'hole or overlap';
    at = t.end;
  }
  if (at !== dataSize) return 'trailing bytes';
  return { dataStart, tensors };
}

// ---------------------------------------------------------------------------------------------
// Valid files to mutate.

interface Base { name: string; bytes: Uint8Array; header: Record<string, unknown>; data: Uint8Array }

function baseFromHeader(name: string, header: Record<string, unknown>, data: Uint8Array, pad = 0): Base {
  const bytes = rawFile(JSON.stringify(header) + ' '.repeat(pad), data);
  return { name, bytes, header, data };
}

function fromSerialized(name: string, bytes: Uint8Array): Base {
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  return { name, bytes, header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

const f = (seed: number, n: number) => new Float32Array(seededBytes(4 * n, seed).buffer);
const BASES: Base[] = [
  fromSerialized('inputs', serializeSafetensors({ x: { shape: [3, 4], data: f(1, 12) }, context: { shape: [2, 4], data: f(2, 8) } }, { format: 'pt' })),
  fromSerialized('weights', serializeSafetensors(Object.fromEntries(['q', 'k', 'v', 'o'].flatMap((p, i) => [
    [`layers.0.self_attn.${p}_proj.weight`, { shape: [2, 2], data: f(10 + i, 4) }],
    [`layers.0.self_attn.${p}_proj.bias`, { shape: [2], data: f(20 + i, 2) }],
  ])))),
  // Every size of dtype, a scalar, empty tensors, the header in another order than the data.
  baseFromHeader('dtypes', {
    h: { dtype: 'F16', shape: [3], data_offsets: [8, 14] },
    __metadata__: { a: 'b', '': 'é\u{1f600}' },
    s: { dtype: 'F64', shape: [], data_offsets: [14, 22] },
    e: { dtype: 'F32', shape: [0, 3], data_offsets: [8, 8] },
    u: { dtype: 'U8', shape: [8], data_offsets: [0, 8] },
    w: { dtype: 'F32', shape: [2, 2], data_offsets: [22, 38] },
    z: { dtype: 'I64', shape: [1, 0], data_offsets: [38, 38] },
  }, seededBytes(38, 5), 3),
  baseFromHeader('unpadded', { 'a.b': { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, 'c\u00e9': { dtype: 'BF16', shape: [2], data_offsets: [4, 8] } }, seededBytes(8, 6)),
];

// ---------------------------------------------------------------------------------------------
// The mutator.

class Rng {
  private i = 0;
  constructor(private readonly seed: number) {}
  next(): number {
    return hash32((hash32(this.seed) + Math.imul(++this.i, 0x9e3779b9)) >>> 0);
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

interface Mutant { kind: string; bytes: Uint8Array; formatOnly: boolean }

const SPECIAL = [0x20, 0x09, 0x0a, 0x0d, 0x00, 0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x2c, 0x3a, 0x30, 0x31, 0x2d, 0x2e, 0x65, 0x5c, 0x75, 0xff, 0xef, 0xc3, 0x80];
const DTYPES = [...Object.keys(SIZES), 'F33', 'f32', '', 'F4', 'F32 ', 'C64'];
const NAMES = ['x', 'context', 'a', '\u001b[2K\rverification passed\n', '__metadata__', '', 'x\u202e', 'layers.0.self_attn.q_proj.weight'];

function setLength(bytes: Uint8Array, n: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, n)), true);
  return out;
}

function headerParts(base: Base): { n: number; text: string } {
  // A mutant mutated again may claim any length: clamp to the bytes there are.
  const n = Math.max(0, Math.min(Number(new DataView(base.bytes.buffer, base.bytes.byteOffset).getBigUint64(0, true)), base.bytes.length - 8));
  return { n, text: new TextDecoder().decode(base.bytes.subarray(8, 8 + n)) };
}

/** The base's data area under new header text (the length prefix set to match). */
const withHeaderText = (base: Base, text: string): Uint8Array => rawFile(text, base.data);

function splice(bytes: Uint8Array, at: number, remove: number, insert: number[]): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/** A reformatting of valid JSON: whitespace between tokens, \u escapes in names, entry order. */
function reformat(header: Record<string, unknown>, rng: Rng): string {
  const ws = () => rng.pick(['', ' ', '\n', '\t', '\r\n  ', '   ']);
  const str = (s: string) => {
    const plain = JSON.stringify(s);
    if (rng.int(3) !== 0) return plain;
    let out = '"';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      out += c > 0xffff ? JSON.stringify(ch).slice(1, -1) : rng.int(2) ? `\\u${c.toString(16).padStart(4, '0')}` : JSON.stringify(ch).slice(1, -1);
    }
    return out + '"';
  };
  const value = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => value(x)).join(`${ws()},${ws()}`)}${ws()}]`;
    if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      if (rng.int(2)) keys.reverse();
      return `{${ws()}${keys.map((k) => `${str(k)}${ws()}:${ws()}${value((v as Record<string, unknown>)[k])}`).join(`${ws()},${ws()}`)}${ws()}}`;
    }
    return typeof v === 'string' ? str(v) : String(v);
  };
  return value(header) + ' '.repeat(rng.int(12));
}

const BYTE_KINDS = ['length±k', 'byte-flip', 'byte-special', 'insert-byte', 'delete-byte', 'truncate', 'append'] as const;

/** One mutation of the base; `bytesOnly`: only those that edit base.bytes (the rest rebuild from base.header). */
function mutate(base: Base, rng: Rng, bytesOnly = false): Mutant {
  const { n, text } = headerParts(base);
  const b = base.bytes;
  const clone = () => JSON.parse(JSON.stringify(base.header)) as Record<string, Record<string, unknown>>;
  const entries = (h: Record<string, Record<string, unknown>>) => Object.keys(h).filter((k) => k !== '__metadata__');
  const kinds = [
    'length±k', 'byte-flip', 'byte-special', 'insert-byte', 'delete-byte', 'truncate', 'append', 'dtype', 'shape',
    'offsets', 'rename', 'drop-entry', 'add-entry', 'extra-field', 'metadata', 'duplicate-text', 'padding-char',
    'reformat', 'number-form', 'nesting',
  ] as const;
  const kind = bytesOnly ? rng.pick(BYTE_KINDS) : rng.pick(kinds);
  switch (kind) {
    case 'length±k': {
      const k = 1 + rng.int(12);
      return { kind, bytes: setLength(b, n + (rng.int(2) ? k : -k)), formatOnly: false };
    }
    case 'byte-flip': {
      const at = rng.int(b.length);
      const out = b.slice();
      out[at]! ^= 1 << rng.int(8);
      return { kind, bytes: out, formatOnly: false };
    }
    case 'byte-special': {
      const out = b.slice();
      out[8 + rng.int(Math.max(1, Math.min(n + 8, b.length - 8)))] = rng.pick(SPECIAL);
      return { kind, bytes: out, formatOnly: false };
    }
    case 'insert-byte': {
      const at = 8 + rng.int(n + 1);
      const out = splice(b, at, 0, [rng.pick(SPECIAL)]);
      return { kind, bytes: rng.int(2) ? setLength(out, n + 1) : out, formatOnly: false };
    }
    case 'delete-byte': {
      const at = 8 + rng.int(Math.max(1, n));
      if (at >= b.length) return { kind, bytes: b.slice(0, b.length - 1), formatOnly: false };
      const out = splice(b, at, 1, []);
      return { kind, bytes: rng.int(2) ? setLength(out, n - 1) : out, formatOnly: false };
    }
    case 'truncate':
      return { kind, bytes: b.slice(0, rng.int(b.length)), formatOnly: false };
    case 'append':
      return { kind, bytes: splice(b, b.length, 0, Array.from({ length: 1 + rng.int(9) }, () => rng.int(256))), formatOnly: false };
    case 'dtype': {
      const h = clone();
      const e = rng.pick(entries(h));
      h[e]!.dtype = rng.pick(DTYPES);
      return { kind, bytes: withHeaderText(base, JSON.stringify(h)), formatOnly: false };
    }
    case 'shape': {
      const h = clone();
      const e = rng.pick(entries(h));
      const shape = [...(h[e]!.shape as unknown[])];
      const op = rng.int(6);
      if (op === 0 || shape.length === 0) shape.push(rng.pick([0, 1, 2, 3]));
      else if (op === 1) shape.pop();
      else if (op === 2) shape[rng.int(shape.length)] = (shape[rng.int(shape.length)] as number) + rng.pick([-1, 1, 2]);
      else if (op === 3) shape[rng.int(shape.length)] = rng.pick([-1, 1.5, 2 ** 53, 2 ** 40, '2', null, [2]]);
      else if (op === 4) shape.reverse();
      else shape[rng.int(shape.length)] = 0;
      h[e]!.shape = shape;
      return { kind, bytes: withHeaderText(base, JSON.stringify(h)), formatOnly: false };
    }
    case 'offsets': {
      const h = clone();
      const e = rng.pick(entries(h));
      const o = [...(h[e]!.data_offsets as number[])];
      const op = rng.int(5);
      if (op === 0) o[rng.int(2)]! += rng.pick([-8, -4, -2, -1, 1, 2, 4, 8]);
      else if (op === 1) { const d = rng.pick([-4, 4, 8]); o[0]! += d; o[1]! += d; }
      else if (op === 2) o.reverse();
      else if (op === 3) o.push(o[1]!);
      else o[rng.int(2)] = rng.pick([-1, 2 ** 53, 1e300, 0]);
      h[e]!.data_offsets = o;
      return { kind, bytes: withHeaderText(base, JSON.stringify(h)), formatOnly: false };
    }
    case 'rename': {
      const h = clone();
      const e = rng.pick(entries(h));
      const to = rng.pick([...NAMES, ...entries(h)]);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(h)) out[k === e ? to : k] = v;
      return { kind, bytes: withHeaderText(base, JSON.stringify(out)), formatOnly: false };
    }
    case 'drop-entry': {
      const h = clone();
      delete h[rng.pick(entries(h))];
      return { kind, bytes: withHeaderText(base, JSON.stringify(h)), formatOnly: false };
    }
    case 'add-entry': {
      const h = clone() as Record<string, unknown>;
      const end = base.data.length;
      h[rng.pick(['new', 'y', ...NAMES])] = { dtype: 'F32', shape: rng.pick([[0], [1], [2]]), data_offsets: rng.pick([[end, end], [end, end + 4], [0, 4], [end - 4, end]]) };
      const data = rng.int(2) ? base.data : splice(base.data, end, 0, [1, 2, 3, 4]);
      return { kind, bytes: rawFile(JSON.stringify(h), data), formatOnly: false };
    }
    case 'extra-field': {
      const h = clone();
      const e = rng.pick(entries(h));
      const field = rng.pick(['extra', 'dtype ', 'Shape', 'data_offset']);
      h[e]![field] = rng.pick([1, 'F32', [0, 4], {}]);
      return { kind, bytes: withHeaderText(base, JSON.stringify(h)), formatOnly: false };
    }
    case 'metadata': {
      const h = clone() as Record<string, unknown>;
      h.__metadata__ = rng.pick<unknown>([{ k: 1 }, { k: ['a'] }, { k: { a: 'b' } }, ['a'], 'a', null, { k: 'v', '\u001b': '\n' }, {}]);
      return { kind, bytes: withHeaderText(base, JSON.stringify(h)), formatOnly: false };
    }
    case 'duplicate-text': {
      // A key written twice, which JSON.parse would merge: an entry, a field, a metadata key.
      const h = clone();
      const e = rng.pick(entries(h));
      const json = JSON.stringify(h);
      const op = rng.int(3);
      const dup = op === 0 ? json.replace(/^\{/, `{${JSON.stringify(e)}:${JSON.stringify(h[e])},`)
        : op === 1 ? json.replace(/"dtype":"([^"]*)"/, (m) => `${m},${m}`)
          : json.replace(/^\{/, '{"__metadata__":{"k":"1","k":"2"},');
      return { kind, bytes: withHeaderText(base, dup), formatOnly: false };
    }
    case 'padding-char': {
      const pad = rng.pick([' ', '\t', '\n', '\r', '\0', '  \n', ' \u00a0', '}', '{}']);
      return { kind, bytes: withHeaderText(base, text.replace(/ *$/, '') + pad), formatOnly: /^ *$/.test(pad) };
    }
    case 'reformat':
      return { kind, bytes: withHeaderText(base, reformat(base.header, rng)), formatOnly: true };
    case 'number-form': {
      // The same numbers spelt otherwise: 4.0, 4e0, 04, -0, 0x4.
      const forms = [(d: string) => `${d}.0`, (d: string) => `${d}e0`, (d: string) => `0${d}`, () => '-0', (d: string) => `0x${d}`, (d: string) => `${d}E+0`];
      const form = rng.pick(forms);
      const json = JSON.stringify(base.header);
      const digits = [...json.matchAll(/(?<=[[,])\d+(?=[\],])/g)];
      const m = rng.pick(digits);
      return { kind, bytes: withHeaderText(base, json.slice(0, m.index) + form(m[0]) + json.slice(m.index + m[0].length)), formatOnly: false };
    }
    case 'nesting': {
      const depth = rng.pick([3, 50, 5000, 200_000]);
      const deep = rng.int(2) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      const h = JSON.stringify(base.header);
      const at = rng.pick([h.indexOf('['), h.indexOf('{', 1), h.indexOf('"F')]);
      return { kind, bytes: withHeaderText(base, h.slice(0, at) + deep + h.slice(at).replace(/^(\[[^\]]*\]|\{[^}]*\}|"[^"]*")/, '')), formatOnly: false };
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** The tensors the library reads: each tensor's bytes and, for F32, its values; or the refusal. */
function readAll(bytes: Uint8Array) {
  const parsed = parseSafetensorsHeader(bytes, 'mutant.safetensors');
  const out = new Map<string, { bytes: Uint8Array; values?: Float32Array; dtype: string; shape: number[] }>();
  for (const [name, info] of parsed.tensors) {
    const raw = tensorBytes(bytes, parsed, name, 'mutant.safetensors');
    let values: Float32Array | undefined;
    if (info.dtype === 'F32') {
      try {
        values = getF32(bytes, parsed, name, undefined, 'mutant.safetensors');
      } catch (e) {
        if (!(e instanceof SafetensorsError && e.rule === 'non-finite')) throw e;
      }
    }
    out.set(name, { bytes: raw, values, dtype: info.dtype, shape: info.shape });
  }
  return { parsed, tensors: out };
}

describe('fuzzing the strict reader', () => {
  it(`${MUTATIONS} seeded mutations of valid files: refusals are SafetensorsErrors, acceptances follow every rule and read right`, () => {
    const originals = BASES.map((base) => {
      expect(typeof check(base.bytes), `${base.name} is valid`).toBe('object');
      return readAll(base.bytes);
    });
    const stats = new Map<string, { accepted: number; refused: number }>();
    const rules = new Set<string>();
    let formatOnly = 0;
    const started = performance.now();
    for (let i = 0; i < MUTATIONS; i++) {
      const rng = new Rng((SEED ^ Math.imul(i, 0x85ebca6b)) >>> 0);
      const which = rng.int(BASES.length);
      const base = BASES[which]!;
      let m = mutate(base, rng);
      // A second, byte-level mutation on a quarter of them.
      if (rng.int(4) === 0 && m.bytes.length >= 8) {
        const again = mutate({ ...base, bytes: m.bytes }, rng, true);
        m = { kind: `${m.kind}+${again.kind}`, bytes: again.bytes, formatOnly: false };
      }
      const label = `mutant ${i} (${base.name}, ${m.kind}, FUZZ_SEED=${SEED})`;
      const verdict = check(m.bytes);
      let result: ReturnType<typeof readAll> | null = null;
      try {
        result = readAll(m.bytes);
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`${label}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
        expect(e.message.length, label).toBeLessThanOrEqual(MAX_MESSAGE);
        expect(e.message, label).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
        expect(e.message.startsWith('mutant.safetensors: '), label).toBe(true);
        rules.add(e.rule);
        if (typeof verdict !== 'string') throw new Error(`${label}: refused a file that follows every rule: ${e.message}`);
      }
      const s = stats.get(m.kind.split('+')[0]!) ?? { accepted: 0, refused: 0 };
      stats.set(m.kind.split('+')[0]!, s);
      if (!result) {
        if (m.formatOnly) throw new Error(`${label}: refused a reformatting of a valid file`);
        s.refused++;
        continue;
      }
      s.accepted++;
      if (typeof verdict === 'string') throw new Error(`${label}: accepted a file that breaks a rule (${verdict})`);
      // Never a misread: the bytes at the declared offsets, decoded little-endian.
      expect(result.tensors.size, label).toBe(verdict.tensors.size);
      for (const [name, t] of verdict.tensors) {
        const got = result.tensors.get(name);
        expect(got, `${label}: ${JSON.stringify(name)}`).toBeDefined();
        expect(got!.dtype).toBe(t.dtype);
        expect(got!.shape).toEqual(t.shape);
        const expected = m.bytes.subarray(verdict.dataStart + t.begin, verdict.dataStart + t.end);
        expect(Buffer.from(got!.bytes).equals(Buffer.from(expected)), `${label}: bytes of ${JSON.stringify(name)}`).toBe(true);
        if (got!.values) {
          const view = new DataView(expected.buffer, expected.byteOffset, expected.byteLength);
          for (let j = 0; j < got!.values.length; j++) {
            if (!Object.is(got!.values[j], view.getFloat32(4 * j, true))) throw new Error(`${label}: ${JSON.stringify(name)}[${j}] misread`);
          }
        }
      }
      if (m.formatOnly) {
        formatOnly++;
        const original = originals[which]!;
        expect([...result.tensors.keys()].sort(), label).toEqual([...original.tensors.keys()].sort());
        for (const [name, t] of original.tensors) {
          expect(Buffer.from(result.tensors.get(name)!.bytes).equals(Buffer.from(t.bytes)), `${label}: ${name} changed`).toBe(true);
        }
        expect(result.parsed.metadata).toEqual(original.parsed.metadata);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const table = [...stats].map(([k, v]) => `${k} ${v.accepted}/${v.refused}`).join(', ');
    console.log(`fuzz: ${MUTATIONS} mutations in ${seconds.toFixed(2)} s, ${formatOnly} reformattings read the same (accepted/refused by kind: ${table}); rules seen: ${[...rules].sort().join(', ')}`);
    // The mutator reaches both sides and most rules.
    expect(formatOnly).toBeGreaterThan(100);
    expect(rules.size).toBeGreaterThanOrEqual(15);
  });
});
