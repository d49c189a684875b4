// writeFileAtomic: the whole new file or the old one, never a cut-off mix, and no temporary file left.
import * as fs from 'node:fs';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AtomicWriteError, isTemporaryFor, temporaryName, writeFileAtomic } from '../../src/node/atomic-write.js';

const root = mkdtempSync(join(tmpdir(), 'wa-atomic-'));
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(root, 't-')); // a fresh folder per test: "no leftovers" is an exact listing
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const OLD = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const NEW = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
/** Byte equality (vitest's toEqual walks a 3 MiB array element by element: seconds). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('writeFileAtomic', () => {
  it('writes a new file, and replaces an existing one whole', () => {
    const target = join(dir, 'y.safetensors');
    writeFileAtomic(target, OLD);
    expect(same(readFileSync(target), OLD)).toBe(true);
    writeFileAtomic(target, [NEW.subarray(0, 1000), NEW.subarray(1000)]);
    expect(same(readFileSync(target), NEW)).toBe(true);
    expect(readdirSync(dir)).toEqual(['y.safetensors']);
  });

  it('a write that fails half-way (a full disk) leaves the old file byte-identical and no temporary file', () => {
    const target = join(dir, 'y.safetensors');
    writeFileSync(target, OLD);
    let writes = 0;
    const failing = {
      // The first MiB goes through, then the disk is full: the situation that cut files off before.
      writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => {
        if (writes++ > 0) throw enospc();
        return fs.writeSync(fd, buffer, offset, Math.min(length, 1 << 20), position);
      },
    };
    expect(() => writeFileAtomic(target, NEW, { fs: failing })).toThrow(AtomicWriteError);
    expect(() => writeFileAtomic(target, NEW, { fs: failing })).toThrow(/writing ".*y\.safetensors" failed: no space left on the device; any earlier file there is left as it was/);
    expect(same(readFileSync(target), OLD)).toBe(true);
    expect(readdirSync(dir)).toEqual(['y.safetensors']);
  });

  it('a short write is continued, not taken for the whole', () => {
    const target = join(dir, 'y.safetensors');
    const short = { writeSync: (fd: number, b: Uint8Array, o: number, l: number, p: number | null) => fs.writeSync(fd, b, o, Math.min(l, 4097), p) };
    writeFileAtomic(target, NEW, { fs: short });
    expect(same(readFileSync(target), NEW)).toBe(true);
  });

  it('a failed fsync or rename leaves the old file and no temporary file', () => {
    const target = join(dir, 'y.safetensors');
    writeFileSync(target, OLD);
    const eio = () => Object.assign(new Error('EIO'), { code: 'EIO' });
    expect(() => writeFileAtomic(target, NEW, { fs: { fsyncSync: () => { throw eio(); } } })).toThrow(/input\/output error/);
    expect(() => writeFileAtomic(target, NEW, { fs: { renameSync: () => { throw eio(); } } })).toThrow(/input\/output error/);
    expect(same(readFileSync(target), OLD)).toBe(true);
    expect(readdirSync(dir)).toEqual(['y.safetensors']);
  });

  it('a target that is a directory is refused and left alone', () => {
    const target = join(dir, 'y.safetensors');
    mkdirSync(target);
    expect(() => writeFileAtomic(target, NEW)).toThrow(AtomicWriteError);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(dir)).toEqual(['y.safetensors']);
  });

  it('keeps the permissions of the file it replaces', () => {
    const target = join(dir, 'y.safetensors');
    writeFileSync(target, OLD);
    chmodSync(target, 0o640);
    writeFileAtomic(target, NEW);
    expect(statSync(target).mode & 0o777).toBe(0o640);
  });

  it('temporary names are hidden, beside the target, unique', () => {
    const target = join(dir, 'y.safetensors');
    const a = temporaryName(target);
    const b = temporaryName(target);
    expect(a).not.toBe(b);
    expect(a.startsWith(join(dir, '.y.safetensors.'))).toBe(true);
    expect(isTemporaryFor(target, a.slice(dir.length + 1))).toBe(true);
    expect(isTemporaryFor(target, 'y.safetensors')).toBe(false);
  });
});
