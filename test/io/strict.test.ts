// One test per rule of the strict reader (src/io/safetensors.ts lists them): each refusal is a
// SafetensorsError with that rule, one printable line naming the file; and the files the format
// allows (empty tensors, scalars, escaped names, whitespace inside the JSON) are still read.

import { describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE, SafetensorsError, getF32, headerLength, parseSafetensorsHeader, serializeSafetensors, tensorBytes,
  type SafetensorsRule,
} from '../../src/io/safetensors.js';
import { rawFile } from './regressions/cases.js';

const t = (shape: number[], begin: number, end: number, dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });
const entry = (shape: number[], begin: number, end: number, dtype = 'F32') => JSON.stringify(t(shape, begin, end, dtype));

function refused(bytes: Uint8Array, rule: SafetensorsRule, ...parts: (string | RegExp)[]): SafetensorsError {
  let caught: unknown;
  try {
    parseSafetensorsHeader(bytes, 'f.safetensors');
  } catch (e) {
    caught = e;
  }
  expect(caught, 'refused').toBeInstanceOf(SafetensorsError);
  const e = caught as SafetensorsError;
  expect(e.rule, e.message).toBe(rule);
  expect(e.message).toMatch(/^f\.safetensors: /);
  expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
  expect(e.message).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  for (const p of parts) expect(e.message).toMatch(p);
  return e;
}

const accepted = (bytes: Uint8Array) => parseSafetensorsHeader(bytes, 'f.safetensors');

describe('rules of the header length', () => {
  it('prefix: at least 8 bytes', () => {
    refused(new Uint8Array(7), 'prefix', /7 bytes is shorter than the 8-byte/);
  });
  it('header-size: at most 16 MiB, and within the file', () => {
    refused(rawFile('{}', 0, 16 * 1024 * 1024 + 1), 'header-size', /exceeds the limit of 16777216/);
    refused(rawFile('{}', 0, 2 ** 63), 'header-size', /exceeds the limit/);
    refused(rawFile('{}', 0, 3), 'header-size', /header length 3 exceeds the file size 10/);
    expect(() => headerLength(rawFile('{}', 0, 16 * 1024 * 1024))).not.toThrow();
  });
});

describe('rules of the header text', () => {
  it('header-start: begins with {, no BOM or whitespace before it, not empty', () => {
    refused(rawFile('{}', 0, undefined, [0xef, 0xbb, 0xbf]), 'header-start', /byte order mark/);
    refused(rawFile(' {}', 0), 'header-start', /found byte 0x20/);
    refused(rawFile('[]', 0), 'header-start', /found byte 0x5b/);
    refused(rawFile('', 0), 'header-start', /header is empty/);
  });
  it('header-utf8: valid UTF-8 only', () => {
    const f = rawFile('{"xx":{}}', 0);
    f[11] = 0xff;
    refused(f, 'header-utf8', /not valid UTF-8 \(at or after byte 11/);
    const g = rawFile('{"x\u00e9":{}}', 0);
    refused(g.subarray(0, g.length), 'entry'); // a valid 2-byte sequence is fine (the entry is what is wrong)
  });
  it('header-json: JSON syntax, escapes, numbers', () => {
    refused(rawFile('{"a" 1}', 0), 'header-json', /expected ':' after the name 'a'/);
    refused(rawFile('{"a":{}', 0), 'header-json', /expected ',' or '}'/);
    refused(rawFile("{'a':{}}", 0), 'header-json', /a tensor name \(a JSON string\)/);
    refused(rawFile('{"a\\ud800":{}}', 0), 'header-json', /lone surrogate escape \\ud800/);
    refused(rawFile('{"a\\udc00":{}}', 0), 'header-json', /lone surrogate/);
    refused(rawFile('{"a\\q":{}}', 0), 'header-json', /invalid escape/);
    refused(rawFile('{"a\\u12":{}}', 0), 'header-json', /invalid \\u escape/);
    refused(rawFile('{"a\tb":{}}', 0), 'header-json', /raw control character \\t/);
    refused(rawFile('{"a":{"shape":[01]}}', 0), 'header-json', /invalid JSON number 01/);
    refused(rawFile('{"a":{"shape":[1,]}}', 0), 'shape', /found the end|found ']'|found '\]/);
    refused(rawFile('{"a', 0), 'header-json', /unterminated string/);
    refused(rawFile('{,}', 0), 'header-json');
  });
  it('header-padding: only spaces after the closing brace', () => {
    refused(rawFile('{}\t', 0), 'header-padding', /whitespace other than a space \(\\t\)/);
    refused(rawFile('{}  \n', 0), 'header-padding', /\\n/);
    refused(rawFile('{}\0\0', 0), 'header-padding', /'\\x00\\x00'/);
    refused(rawFile('{}{}', 0), 'header-padding', /'\{\}'/);
    expect(accepted(rawFile('{}      ', 0)).tensors.size).toBe(0);
  });
  it('nesting: a flat object of entries; nothing deeper, however deep the input', () => {
    refused(rawFile('{"a":[1]}', 0), 'nesting', /tensor 'a': the entry must be an object/);
    refused(rawFile('{"a":"F32"}', 0), 'nesting', /found a string/);
    refused(rawFile(`{"a":${'['.repeat(1_000_000)}`, 0), 'nesting', /found an array/);
    refused(rawFile(`{"a":{"shape":${'['.repeat(1_000_000)}`, 0), 'shape', /found an array in it/);
    refused(rawFile(`{"a":{"dtype":{"x":${'{"x":'.repeat(100_000)}`, 0), 'dtype', /"dtype" must be a string, found an object/);
  });
  it('duplicate-name: no tensor, __metadata__ or metadata key twice', () => {
    refused(rawFile(`{"a":${entry([1], 0, 4)},"a":${entry([1], 4, 8)}}`, 8), 'duplicate-name', /tensor 'a': the name appears twice/);
    // "\u0061" is "a": the same name spelt differently is still the same name.
    refused(rawFile(`{"a":${entry([1], 0, 4)},"\\u0061":${entry([1], 4, 8)}}`, 8), 'duplicate-name', /tensor 'a'/);
    refused(rawFile('{"__metadata__":{},"__metadata__":{}}', 0), 'duplicate-name', /"__metadata__" appears twice/);
    refused(rawFile('{"__metadata__":{"k":"1","k":"2"}}', 0), 'duplicate-name', /metadata key 'k' appears twice/);
  });
});

describe('rules of an entry', () => {
  it('entry: exactly dtype, shape and data_offsets, once each', () => {
    refused(rawFile('{"a":{"shape":[1],"data_offsets":[0,4]}}', 4), 'entry', /tensor 'a': the entry lacks "dtype"/);
    refused(rawFile('{"a":{"dtype":"F32","data_offsets":[0,4]}}', 4), 'entry', /lacks "shape"/);
    refused(rawFile('{"a":{"dtype":"F32","shape":[1]}}', 4), 'entry', /lacks "data_offsets"/);
    refused(rawFile('{"a":{}}', 0), 'entry', /lacks "dtype"/);
    refused(rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}', 4), 'entry', /unknown field 'extra'/);
    refused(rawFile('{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', 4), 'entry', /field 'dtype' appears twice/);
  });
  it('metadata: an object of string → string', () => {
    refused(rawFile('{"__metadata__":[]}', 0), 'metadata', /must be an object of string → string, found an array/);
    refused(rawFile('{"__metadata__":{"k":1}}', 0), 'metadata', /'k' holds a number/);
    refused(rawFile('{"__metadata__":{"k":{"x":"y"}}}', 0), 'metadata', /'k' holds an object/);
    refused(rawFile('{"__metadata__":{"k":null}}', 0), 'metadata', /'k' holds null/);
    expect(accepted(rawFile('{"__metadata__":{"b":"2","a":"","__proto__":"x"}}', 0)).metadata).toEqual(
      JSON.parse('{"b":"2","a":"","__proto__":"x"}'),
    );
  });
  it('dtype: a dtype of the format', () => {
    refused(rawFile(`{"a":${entry([1], 0, 4, 'F33')}}`, 4), 'dtype', /tensor 'a': unknown dtype 'F33'/);
    refused(rawFile(`{"a":${entry([1], 0, 4, 'f32')}}`, 4), 'dtype', /unknown dtype 'f32'/);
    refused(rawFile('{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', 4), 'dtype', /must be a string, found a number/);
  });
  it('shape: non-negative safe integers', () => {
    for (const [s, found] of [['-1', /-1/], ['1.5', /1\.5/], ['1e2', /1e2/], ['1.0', /1\.0/], ['9007199254740992', /9007199254740992/]] as const) {
      refused(rawFile(`{"a":{"dtype":"F32","shape":[${s}],"data_offsets":[0,4]}}`, 4), 'shape', /tensor 'a': "shape" must be an array of non-negative integers/, found);
    }
    refused(rawFile('{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}', 4), 'shape', /found a string in it/);
    refused(rawFile('{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}', 4), 'shape', /found a number/);
    refused(rawFile('{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}', 4), 'shape', /found a boolean in it/);
  });
  it('offsets: [begin, end] of non-negative safe integers, begin ≤ end', () => {
    refused(rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', 4), 'offsets', /must be \[begin, end\], got 1 numbers/);
    refused(rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', 8), 'offsets', /got 3 numbers/);
    refused(rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', 4), 'offsets', /"data_offsets" must be an array of non-negative integers/);
    refused(rawFile(`{"a":${entry([0], 8, 4)}}`, 8), 'offsets', /\[8, 4\] has begin > end/);
  });
  it('byte-length: end − begin = product(shape) · dtype size', () => {
    refused(rawFile(`{"a":${entry([3], 0, 8)}}`, 8), 'byte-length', /span 8 bytes but F32 shape \[3\] needs 12/);
    refused(rawFile(`{"a":${entry([2, 2], 0, 16, 'F16')}}`, 16), 'byte-length', /F16 shape \[2, 2\] needs 8/);
    refused(rawFile(`{"a":${entry([2 ** 30, 2 ** 30], 0, 4)}}`, 4), 'byte-length', /more bytes than a safe integer holds/);
  });
  it('out-of-bounds: within the data area', () => {
    refused(rawFile(`{"a":${entry([2], 0, 8)}}`, 4), 'out-of-bounds', /tensor 'a': data_offsets \[0, 8\] exceed the data area of 4 bytes/);
  });
});

describe('rules of the data area', () => {
  it('data-start: the first tensor by offset starts at 0', () => {
    refused(rawFile(`{"a":${entry([1], 4, 8)}}`, 8), 'data-start', /tensor 'a': the first tensor by offset starts at byte 4/);
  });
  it('hole: each tensor starts where the previous ends', () => {
    refused(rawFile(`{"b":${entry([1], 8, 12)},"a":${entry([1], 0, 4)}}`, 12), 'hole', /tensor 'b': .*hole of 4 bytes after 'a'/);
  });
  it('overlap: no byte in two tensors', () => {
    refused(rawFile(`{"a":${entry([2], 0, 8)},"b":${entry([2], 4, 12)}}`, 12), 'overlap', /tensor 'b': data_offsets \[4, 12\] overlap 'a' \[0, 8\]/);
    refused(rawFile(`{"a":${entry([2], 0, 8)},"b":${entry([2], 0, 8)}}`, 8), 'overlap');
    // An empty tensor inside another one's bytes is not where the sorted walk puts it.
    refused(rawFile(`{"a":${entry([2], 0, 8)},"e":${entry([0], 4, 4)}}`, 8), 'overlap', /tensor 'e'/);
  });
  it('trailing-bytes: the last tensor ends at the end of the file', () => {
    refused(rawFile(`{"a":${entry([1], 0, 4)}}`, 5), 'trailing-bytes', /1 bytes after the last tensor 'a'/);
    refused(rawFile('{}', 3), 'trailing-bytes', /3 bytes and no tensor owns them/);
    refused(rawFile('{"__metadata__":{"k":"v"}}', 1), 'trailing-bytes');
  });
  it('a header parsed from a prefix checks coverage against the given file size', () => {
    const bytes = rawFile(`{"a":${entry([4], 0, 16)}}`, 16);
    const n = headerLength(bytes);
    expect(accepted(bytes).dataSize).toBe(16);
    expect(parseSafetensorsHeader(bytes.subarray(0, 8 + n), 'f.safetensors', bytes.length).tensors.get('a')!.end).toBe(bytes.length);
    expect(() => parseSafetensorsHeader(bytes.subarray(0, 8 + n), 'f.safetensors', bytes.length + 4)).toThrow(/4 bytes after the last tensor/);
  });
});

describe('what the format allows is read', () => {
  it('empty tensors at the cursor, scalars, every byte dtype, any header order', () => {
    const header = `{"z":${entry([], 8, 12)},"e0":${entry([0, 5], 0, 0)},"h":${entry([2], 12, 16, 'BF16')},"e1":${entry([3, 0], 8, 8)},"b":${entry([8], 0, 8, 'U8')},"d":${entry([1], 16, 24, 'F64')}}`;
    const p = accepted(rawFile(header, 24));
    expect([...p.tensors.keys()]).toEqual(['z', 'e0', 'h', 'e1', 'b', 'd']);
    expect(p.tensors.get('z')!.shape).toEqual([]);
    expect(p.tensors.get('e1')!.end - p.tensors.get('e1')!.begin).toBe(0);
  });
  it('JSON whitespace between tokens and escapes in names', () => {
    const bytes = rawFile(`{\n  "a\\u00e9\\n\\ud83d\\ude00" : {\r\n\t"dtype" : "F32", "shape" : [ 1 ] , "data_offsets" : [ 0 , 4 ]\n}\n}   `, 4);
    const p = accepted(bytes);
    expect([...p.tensors.keys()]).toEqual(['a\u00e9\n\u{1f600}']);
  });
  it('the empty file: {} and no data', () => {
    expect(accepted(rawFile('{}', 0)).tensors.size).toBe(0);
  });
  it('tensorBytes gives the bytes at the declared offsets', () => {
    const data = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
    const bytes = rawFile(`{"b":${entry([2], 4, 12, 'I32')},"a":${entry([4], 0, 4, 'U8')}}`, data);
    const p = accepted(bytes);
    expect([...tensorBytes(bytes, p, 'a')]).toEqual([1, 2, 3, 4]);
    expect([...tensorBytes(bytes, p, 'b')]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

describe('messages', () => {
  it('a 10,000-character name with control characters: one bounded line, escaped and cut', () => {
    const name = '\u001b[31m' + 'n'.repeat(10_000) + '\n';
    const e = refused(rawFile(`{${JSON.stringify(name)}:${entry([1], 0, 8)}}`, 8), 'byte-length');
    expect(e.message).toMatch(/tensor '\\x1b\[31mn+…'/);
    expect(e.tensor).toBe(name);
  });
  it('a long path keeps its end', () => {
    const path = '/very' + '/long'.repeat(100) + '/w.safetensors';
    try {
      parseSafetensorsHeader(new Uint8Array(3), path);
    } catch (e) {
      expect((e as Error).message).toMatch(/^…[^]*\/long\/w\.safetensors: 3 bytes/);
      expect((e as Error).message.length).toBeLessThanOrEqual(MAX_MESSAGE);
    }
  });
});

describe('the writer', () => {
  const a = { shape: [2], data: new Float32Array([1, 2]) };
  const b = { shape: [1, 1], data: new Float32Array([3]) };
  it('sorts names and metadata keys: the same bytes whatever the insertion order', () => {
    const one = serializeSafetensors({ b, a }, { z: '1', y: '2' });
    const two = serializeSafetensors({ a, b }, { y: '2', z: '1' });
    expect(Buffer.from(one).equals(Buffer.from(two))).toBe(true);
    const n = headerLength(one);
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(one.subarray(8, 8 + n));
    expect(text.trimEnd()).toBe('{"__metadata__":{"y":"2","z":"1"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}');
    expect(/^[^ ]*} *$/.test(text)).toBe(true);
    const p = accepted(one);
    expect(Array.from(getF32(one, p, 'b'))).toEqual([3]);
    expect(p.metadata).toEqual({ y: '2', z: '1' });
  });
  it('writes names the reader reads back exactly (escapes, non-ASCII)', () => {
    const names = ['\u001b[2K', 'a"b\\c', 'é\u{1f600}', '', ' '];
    const bytes = serializeSafetensors(Object.fromEntries(names.map((n) => [n, a])));
    expect(new Set(accepted(bytes).tensors.keys())).toEqual(new Set(names));
  });
  it('refuses what the format cannot hold', () => {
    expect(() => serializeSafetensors({ __metadata__: a })).toThrow(/reserved/);
    expect(() => serializeSafetensors({ ['x\ud800']: a })).toThrow(/lone surrogate/);
    expect(() => serializeSafetensors({ a }, { k: 1 as unknown as string })).toThrow(/must be a string/);
    expect(() => serializeSafetensors({ a: { shape: [-1], data: new Float32Array(0) } })).toThrow(/non-negative/);
    expect(() => serializeSafetensors({ a: { shape: [3], data: new Float32Array(2) } })).toThrow(/needs 3 values, got 2/);
  });
});
