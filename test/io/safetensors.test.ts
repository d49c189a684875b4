import { describe, it, expect } from 'vitest';
import {
  SafetensorsError,
  assertFinite,
  getF32,
  headerLength,
  parseSafetensorsHeader,
  serializeSafetensors,
  weightName,
} from '../../src/io/safetensors.js';

/** A file from a raw header (object or text) and a data area of `dataBytes` bytes. */
function file(header: unknown, dataBytes: number, headerLen?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? json.length), true);
  out.set(json, 8);
  return out;
}

function expectError(f: () => unknown, ...parts: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a SafetensorsError').toBeInstanceOf(SafetensorsError);
  const err = caught as Error;
  expect(err.name).toBe('SafetensorsError');
  for (const p of parts) expect(err.message).toMatch(p);
}

const t = (shape: number[], begin: number, end: number, dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });

describe('safetensors round trip', () => {
  it('serialize → parse → getF32 gives the same values, shapes and metadata', () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
    const b = new Float32Array([Math.PI, -0, 1e-30]);
    const bytes = serializeSafetensors({ a: { shape: [2, 3], data: a }, 'x.y': { shape: [3], data: b } }, { format: 'pt' });
    expect(headerLength(bytes) % 8).toBe(0); // padded so the data area is 8-aligned
    const parsed = parseSafetensorsHeader(bytes, 'mem');
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect(parsed.tensors.get('a')).toMatchObject({ dtype: 'F32', shape: [2, 3], begin: parsed.dataStart, end: parsed.dataStart + 24 });
    expect(getF32(bytes, parsed, 'a', [2, 3])).toEqual(a);
    expect(Object.is(getF32(bytes, parsed, 'x.y')[1], -0)).toBe(true);
    expect(getF32(bytes, parsed, 'x.y', [3])).toEqual(b);
  });

  it('reads tensors at unaligned offsets and empty tensors', () => {
    const bytes = serializeSafetensors({ e: { shape: [0, 4], data: new Float32Array(0) }, v: { shape: [2], data: new Float32Array([1, 2]) } });
    const shifted = new Uint8Array(bytes.length + 1).subarray(1); // byteOffset 1: unaligned view
    shifted.set(bytes);
    const parsed = parseSafetensorsHeader(shifted);
    expect(getF32(shifted, parsed, 'e', [0, 4]).length).toBe(0);
    expect(Array.from(getF32(shifted, parsed, 'v'))).toEqual([1, 2]);
  });

  it('parses a header from a prefix of a larger file', () => {
    const bytes = serializeSafetensors({ w: { shape: [1000], data: new Float32Array(1000) } });
    const n = headerLength(bytes.subarray(0, 8));
    const parsed = parseSafetensorsHeader(bytes.subarray(0, 8 + n), 'big.safetensors', bytes.length);
    expect(parsed.tensors.get('w')!.end).toBe(bytes.length);
  });

  it('names layer tensors in PyTorch layout', () => {
    expect(weightName(3, 'q')).toBe('layers.3.self_attn.q_proj.weight');
    expect(weightName(0, 'o', 'bias')).toBe('layers.0.self_attn.o_proj.bias');
  });
});

describe('malformed safetensors', () => {
  it('rejects a file shorter than 8 bytes', () => {
    expectError(() => parseSafetensorsHeader(new Uint8Array(5), 'tiny.st'), 'tiny.st', /5 bytes.*8-byte/);
  });

  it('rejects a header length beyond the file', () => {
    expectError(() => parseSafetensorsHeader(file({}, 0, 9000), 'f.st'), 'f.st', 'header length 9000 exceeds the file size 10');
    expectError(() => headerLength(file({}, 0, 2 ** 40)), /exceeds the limit/);
  });

  it('rejects invalid JSON and a non-object header', () => {
    expectError(() => parseSafetensorsHeader(file('{"a": ', 0), 'bad.st'), 'bad.st', /entry must be an object.*end of the header/);
    expectError(() => parseSafetensorsHeader(file('{"a" 1}', 0), 'bad.st'), 'bad.st', /expected ':'/);
    expectError(() => parseSafetensorsHeader(file('[1, 2]', 0)), /must begin with \{/);
  });

  it('rejects missing or ill-typed fields', () => {
    expectError(() => parseSafetensorsHeader(file({ a: { shape: [1], data_offsets: [0, 4] } }, 4)), "'a'", /dtype/);
    expectError(() => parseSafetensorsHeader(file({ a: t([1], 0, 4, 'F33') }, 4)), "'a'", /unknown dtype 'F33'/);
    expectError(() => parseSafetensorsHeader(file({ a: { dtype: 'F32', data_offsets: [0, 4] } }, 4)), "'a'", /shape/);
    expectError(() => parseSafetensorsHeader(file({ a: t([1.5], 0, 4) }, 4)), "'a'", /non-negative integer/);
    expectError(() => parseSafetensorsHeader(file({ a: t([-1], 0, 4) }, 4)), "'a'", /non-negative integer/);
    expectError(() => parseSafetensorsHeader(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4)), "'a'", /data_offsets/);
    expectError(() => parseSafetensorsHeader(file({ __metadata__: { k: 1 } }, 0)), /__metadata__.*string/);
  });

  it('rejects offsets out of range, reversed, or of the wrong size', () => {
    expectError(() => parseSafetensorsHeader(file({ a: t([2], 0, 8) }, 4), 'o.st'), 'o.st', "'a'", 'exceed the data area of 4 bytes');
    expectError(() => parseSafetensorsHeader(file({ a: t([0], 8, 4) }, 8)), "'a'", /begin > end/);
    expectError(() => parseSafetensorsHeader(file({ a: t([3], 0, 8) }, 8)), "'a'", /span 8 bytes.*needs 12/);
  });

  it('rejects overlapping tensors', () => {
    const f = file({ a: t([2], 0, 8), b: t([2], 4, 12) }, 12);
    expectError(() => parseSafetensorsHeader(f, 'ov.st'), 'ov.st', /'b': data_offsets \[4, 12\] overlap 'a' \[0, 8\]/);
  });

  it('getF32 rejects a missing tensor, listing what exists', () => {
    const bytes = serializeSafetensors({ x: { shape: [1], data: new Float32Array(1) }, y: { shape: [1], data: new Float32Array(1) } });
    expectError(() => getF32(bytes, parseSafetensorsHeader(bytes), 'z', undefined, 'in.st'), 'in.st', "no tensor 'z'", "'x', 'y'");
  });

  it('getF32 rejects another dtype and a wrong shape', () => {
    const f = file({ h: t([2], 0, 4, 'I16'), w: t([2, 3], 4, 28) }, 28);
    const parsed = parseSafetensorsHeader(f);
    expectError(() => getF32(f, parsed, 'h'), "'h'", /dtype I16, expected F32, F16 or BF16/);
    expectError(() => getF32(f, parsed, 'w', [3, 2]), "'w'", 'shape [2, 3], expected [3, 2]');
  });

  it('getF32 rejects NaN and Inf, naming the first bad index', () => {
    const bytes = serializeSafetensors({ w: { shape: [4], data: new Float32Array([0, 1, NaN, Infinity]) } });
    expectError(() => getF32(bytes, parseSafetensorsHeader(bytes), 'w', [4], 'nan.st'), 'nan.st', "'w'", /NaN at index 2/);
    expectError(() => assertFinite('v', [1, -Infinity]), "'v'", /-Infinity at index 1/);
    expect(() => assertFinite('ok', new Float32Array([1, 2]))).not.toThrow();
  });

  it('serialize rejects data that does not match the shape', () => {
    expectError(() => serializeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } }), "'a'", /needs 4 values, got 3/);
  });
});
