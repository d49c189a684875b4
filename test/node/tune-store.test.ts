// issue 21, items 2, 6 and 8: the tuning store never stalls or floods a run: a folder under /proc
// (where Node's recursive mkdir never returns) or any unwritable folder is reported once, escaped;
// an oversized or non-regular store file reads as empty.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureFolder, fileTuneStore, MAX_TUNE_STORE_BYTES } from '../../src/node/tune-store.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'wa-tune-store-')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('saving the tuning', () => {
  it('under /proc: returns at once (no mkdir loop) and warns once for the folder, whatever the kinds and saves', () => {
    const lines: string[] = [];
    const t0 = performance.now();
    for (const file of ['matmul-tiles.json', 'attention-cores.json']) {
      const store = fileTuneStore(join('/proc/x-wa', 'deeper', file), (l) => lines.push(l));
      store.save('{}');
      store.save('{}');
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(lines).toEqual([expect.stringMatching(/^could not save the tuning to "\/proc\/x-wa\/deeper\/matmul-tiles\.json": (no such folder|permission denied)/)]);
  });

  it('an ESC and a newline in the folder name are escaped in the warning (no forged line)', () => {
    const lines: string[] = [];
    const folder = join(dir, 'plain');
    writeFileSync(folder, 'a file where the folder should be');
    fileTuneStore(join(folder, 'x\x1b[31m\nverification passed', 'matmul-tiles.json'), (l) => lines.push(l)).save('{}');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\x1b\n]/);
    expect(lines[0]).toContain('x\\x1b[31m\\nverification passed');
  });

  it('creates missing folders one by one and writes the file whole', () => {
    const path = join(dir, 'a', 'b', 'c', 'matmul-tiles.json');
    const lines: string[] = [];
    const store = fileTuneStore(path, (l) => lines.push(l));
    store.save('{"version":1}');
    expect(readFileSync(path, 'utf8')).toBe('{"version":1}');
    expect(store.load()).toBe('{"version":1}');
    expect(lines).toEqual([]);
    expect(() => ensureFolder(join(dir, 'a', 'b'))).not.toThrow();
  });
});

describe('reading the tuning', () => {
  it(`a store over ${MAX_TUNE_STORE_BYTES} bytes reads as empty (never read whole), with one warning; the next save replaces it`, () => {
    const path = join(dir, 'big.json');
    writeFileSync(path, Buffer.alloc(MAX_TUNE_STORE_BYTES + 1, 0x20));
    const lines: string[] = [];
    const store = fileTuneStore(path, (l) => lines.push(l));
    expect(store.load()).toBeNull();
    expect(store.load()).toBeNull();
    expect(lines).toEqual([expect.stringMatching(/is 1048577 bytes, over the 1048576 allowed: ignored/)]);
    store.save('{}');
    expect(store.load()).toBe('{}');
  });

  it('a FIFO or a folder in the store file\'s place reads as empty without blocking', () => {
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    expect(fileTuneStore(fifo).load()).toBeNull();
    expect(fileTuneStore(dir).load()).toBeNull();
    expect(fileTuneStore(join(dir, 'missing.json')).load()).toBeNull();
  });
});
