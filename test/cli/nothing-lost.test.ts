// issue 21, items 1 and 3, as a user meets them: an --output that resolves to an input is refused
// before any work (the input left byte for byte), and an output name up to NAME_MAX is written.
import { execFileSync } from 'node:child_process';
import { linkSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { cli, freshDir, writeInput, writeWeights } from './run-files-safety.js';


describe('--output never replaces an input', () => {
  it.each([
    ['the weights file itself', 'w', (d: string) => join(d, 'w.safetensors'), /--output ".*w\.safetensors" is the same file as --weights/],
    ['the input file itself', 'x', (d: string) => join(d, 'x.safetensors'), /--output ".*x\.safetensors" is the same file as --input/],
    ['a symbolic link to the weights', 'w', (d: string) => { symlinkSync(join(d, 'w.safetensors'), join(d, 'l.safetensors')); return join(d, 'l.safetensors'); }, /is the same file as --weights .*\(through a symbolic link\)/],
    ['a hard link to the input', 'x', (d: string) => { linkSync(join(d, 'x.safetensors'), join(d, 'h.safetensors')); return join(d, 'h.safetensors'); }, /is the same file as --input/],
  ])('%s: refused before the adapter starts, the file unchanged', (_what, which, output, message) => {
    const dir = freshDir();
    writeWeights(join(dir, 'w.safetensors'));
    writeInput(join(dir, 'x.safetensors'));
    const before = { w: readFileSync(join(dir, 'w.safetensors')), x: readFileSync(join(dir, 'x.safetensors')) };
    const out = output(dir);
    for (const json of [false, true]) {
      const r = cli(['run', '--heads', '2', '--weights', join(dir, 'w.safetensors'), '--input', join(dir, 'x.safetensors'), '--output', out, ...(json ? ['--json'] : [])]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/adapter:/); // refused before any GPU work
      if (json) expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', exitCode: 1, error: expect.stringMatching(message) });
    }
    expect(readFileSync(join(dir, `${which}.safetensors`)).equals(before[which as 'w' | 'x'])).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('every name checked before the run', () => {
  it('an append-only folder (chattr +a) is refused before the adapter starts, leaving nothing in it', () => {
    const dir = freshDir();
    let locked = true;
    try {
      execFileSync('chattr', ['+a', dir], { stdio: 'ignore' });
    } catch {
      locked = false;
    }
    if (!locked) {
      console.warn('chattr +a unavailable (needs root on ext4/xfs/btrfs): the append-only case is covered where it is');
      return;
    }
    try {
      const r = cli(['run', '--layers', '1', '--heads', '2', '--d-model', '16', '--d-head', '8', '--seq', '3', '--no-tune', '--output', join(dir, 'y.safetensors')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the folder ".*" is append-only \(chattr \+a\)/);
      expect(r.stderr).not.toMatch(/adapter:/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      execFileSync('chattr', ['-a', dir]);
    }
  });

  it('an output name of 255 bytes is written (its temporary name fits); 256 bytes are refused before the adapter starts', () => {
    const dir = freshDir();
    const name = 'y'.repeat(255 - '.safetensors'.length) + '.safetensors';
    const small = ['run', '--layers', '1', '--heads', '2', '--d-model', '16', '--d-head', '8', '--seq', '3', '--no-tune'];
    const ok = cli([...small, '--output', join(dir, name)]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(new SafetensorsFile(join(dir, name)).shape('y')).toEqual([3, 16]);
    expect(readdirSync(dir)).toEqual([name]);
    const long = cli([...small, '--output', join(dir, 'y' + name)]);
    expect(long.status).toBe(1);
    expect(long.stderr).toMatch(/--output ".*": the file name is 256 bytes, over the 255 a file name may have \(NAME_MAX\)/);
    expect(long.stderr).not.toMatch(/adapter:/);
  });
});
