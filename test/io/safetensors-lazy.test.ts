// src/io/safetensors-lazy.ts, what the Node file reader and the page's File reader share, on bytes
// in memory: the header read in two steps, and the finite scan a chunk at a time naming the same
// index as reading the tensor whole, past the first chunk too (F32 and F16).
import { describe, expect, it } from 'vitest';
import { parseSafetensorsHeader, serializeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';
import { headerEnd, LazySafetensors, SCAN_CHUNK_BYTES } from '../../src/io/safetensors-lazy.js';
import { freshSeed, rng } from '../helpers/gpu.js';

/** The readers' shape, over an array: the header in two reads, tensors by byte range. */
class MemorySafetensors extends LazySafetensors {
  constructor(private readonly bytes: Uint8Array) {
    const end = headerEnd(bytes.subarray(0, Math.min(8, bytes.length)), 'mem.safetensors', bytes.length);
    super(parseSafetensorsHeader(bytes.subarray(0, end), 'mem.safetensors', bytes.length), 'mem.safetensors');
  }

  read(name: string): Float32Array {
    const info = this.floatTensor(name);
    return this.values(name, info, this.bytes.subarray(info.begin, info.end));
  }

  scanFinite(name: string): { chunks: number } {
    const info = this.floatTensor(name);
    let chunks = 0;
    for (const [at, end] of this.scanChunks(info)) {
      chunks++;
      this.checkChunk(name, info, at, this.bytes.subarray(at, end));
    }
    return { chunks };
  }
}

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('LazySafetensors', () => {
  it.each(['F32', 'F16'] as const)('%s: the scan a chunk at a time names the index read() names, past the first chunk', (dtype) => {
    const seed = freshSeed();
    const next = rng(seed);
    const perChunk = SCAN_CHUNK_BYTES / (dtype === 'F32' ? 4 : 2);
    const n = 2 * perChunk + 5;
    const data = Float32Array.from({ length: n }, () => 2 * next() - 1);
    const bytes = serializeSafetensors({ w: { shape: [n], data, dtype } });
    const clean = new MemorySafetensors(bytes);
    expect(clean.scanFinite('w').chunks, `seed ${seed}`).toBe(3);
    expect(clean.has('w') && clean.shape('w')).toEqual([n]);
    const at = perChunk + 1 + Math.floor(next() * (perChunk - 1)); // in the second chunk
    // A NaN written into a copy of the file's bytes at that element (serializing again would convert every value anew).
    const poisoned = bytes.slice();
    const view = new DataView(poisoned.buffer);
    const begin = parseSafetensorsHeader(bytes.subarray(0, headerEnd(bytes.subarray(0, 8), 'mem.safetensors', bytes.length)), 'mem.safetensors', bytes.length).tensors.get('w')!.begin;
    if (dtype === 'F32') view.setFloat32(begin + 4 * at, Number.NaN, true);
    else view.setUint16(begin + 2 * at, 0x7e00, true);
    const bad = new MemorySafetensors(poisoned);
    const want = `non-finite value NaN at index ${at}`;
    expect(message(() => bad.read('w')), `seed ${seed}`).toContain(want);
    expect(message(() => bad.scanFinite('w')), `seed ${seed}`).toContain(want);
  });

  it('a header length past the file is refused before the header is read', () => {
    const bytes = serializeSafetensors({ w: { shape: [2], data: new Float32Array(2) } });
    expect(() => headerEnd(bytes.subarray(0, 8), 'short.safetensors', 20)).toThrow(SafetensorsError);
    expect(message(() => headerEnd(bytes.subarray(0, 8), 'short.safetensors', 20))).toMatch(/^short\.safetensors: header length \d+ exceeds the file size 20$/);
    expect(headerEnd(bytes.subarray(0, 8), 'ok.safetensors', bytes.length)).toBe(bytes.length - 8);
  });
});
