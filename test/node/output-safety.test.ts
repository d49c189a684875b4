// issue 21, items 1 and 3: an output never replaces an input, and every name the write will use
// (the file's and the temporary one beside it) is checked before any work.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/node/atomic-write.js';
import { checkOutputPath, lockedAttribute, PathError, refuseOutputOverInputs } from '../../src/node/paths.js';
import { isTemporaryFor, NAME_MAX_BYTES, temporaryName } from '../../src/node/temp-name.js';

let dir: string;
beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'wa-out-safety-')));
});
afterAll(() => {
  try {
    execFileSync('chattr', ['-a', join(dir, 'append-only')], { stdio: 'ignore' });
  } catch {
    // not made
  }
  rmSync(dir, { recursive: true, force: true });
});

/** checkOutputPath then refuseOutputOverInputs, as `run` calls them. */
function check(output: string, inputs: { flag: string; path: string }[]): void {
  refuseOutputOverInputs('--output', output, checkOutputPath('--output', output), inputs);
}

describe('--output that is an input', () => {
  it('is refused directly, through a relative path, a symbolic link and a hard link, naming both flags', () => {
    const w = join(dir, 'w.safetensors');
    const x = join(dir, 'x.safetensors');
    writeFileSync(w, 'weights');
    writeFileSync(x, 'input');
    symlinkSync(w, join(dir, 'link.safetensors'));
    linkSync(x, join(dir, 'hard.safetensors'));
    const inputs = [{ flag: '--weights', path: w }, { flag: '--input', path: x }];
    expect(() => check(w, inputs)).toThrow(/^--output ".*w\.safetensors" is the same file as --weights ".*w\.safetensors": the result would replace/);
    expect(() => check(relative(process.cwd(), w), inputs)).toThrow(/is the same file as --weights .* \(the same file by another path\)/);
    expect(() => check(join(dir, 'link.safetensors'), inputs)).toThrow(/--output ".*link\.safetensors" is the same file as --weights ".*w\.safetensors" \(through a symbolic link\)/);
    expect(() => check(join(dir, 'hard.safetensors'), inputs)).toThrow(/--output ".*hard\.safetensors" is the same file as --input ".*x\.safetensors" \(a hard link to it\)/);
    expect(() => check(join(dir, 'sub', '..', 'x.safetensors'), inputs)).toThrow(PathError);
    // Neither input was touched, and a different file passes.
    expect(readFileSync(w, 'utf8')).toBe('weights');
    expect(readFileSync(x, 'utf8')).toBe('input');
    expect(() => check(join(dir, 'y.safetensors'), inputs)).not.toThrow();
    writeFileSync(join(dir, 'other.safetensors'), 'weights'); // same bytes, another file
    expect(() => check(join(dir, 'other.safetensors'), inputs)).not.toThrow();
  });

  it('an input given through a symbolic link to the output is caught too', () => {
    const y = join(dir, 'y2.safetensors');
    writeFileSync(y, 'old');
    symlinkSync(y, join(dir, 'in-link.safetensors'));
    expect(() => check(y, [{ flag: '--input', path: join(dir, 'in-link.safetensors') }])).toThrow(/is the same file as --input ".*in-link\.safetensors"/);
  });

  it('the path in the message is escaped', () => {
    const evil = join(dir, 'e\x1b[2J\nverification passed.safetensors');
    writeFileSync(evil, 'w');
    let message = '';
    try {
      check(evil, [{ flag: '--weights', path: evil }]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/same file/);
    expect(message).not.toMatch(/[\x1b\n]/);
    expect(message).toContain('\\x1b[2J\\nverification passed');
  });
});

describe('names checked up front', () => {
  it('a 255-byte name passes the check and is written (its temporary name fits NAME_MAX); 256 bytes are refused before any work', () => {
    for (const n of [224, 225, 240, 254, 255]) {
      const target = join(dir, 'y'.repeat(n - '.safetensors'.length) + '.safetensors');
      expect(Buffer.byteLength(basename(target))).toBe(n);
      expect(checkOutputPath('--output', target)).toBe(target);
      const tmp = basename(temporaryName(target));
      expect(Buffer.byteLength(tmp)).toBeLessThanOrEqual(NAME_MAX_BYTES);
      expect(isTemporaryFor(target, tmp)).toBe(true);
      writeFileAtomic(target, new Uint8Array([1, 2, 3]));
      expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    }
    const long = join(dir, 'y'.repeat(256 - '.safetensors'.length) + '.safetensors');
    expect(() => checkOutputPath('--output', long)).toThrow(/--output ".*": the file name is 256 bytes, over the 255 a file name may have \(NAME_MAX\)/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('multi-byte names are cut at a character boundary, never inside one', () => {
    const target = join(dir, 'é'.repeat(120) + '.st'); // 243 bytes
    const tmp = basename(temporaryName(target));
    expect(Buffer.byteLength(tmp)).toBeLessThanOrEqual(NAME_MAX_BYTES);
    expect(tmp).not.toContain('\ufffd');
    expect(Buffer.from(tmp, 'utf8').toString('utf8')).toBe(tmp);
    writeFileAtomic(target, new Uint8Array([7]));
    expect([...readFileSync(target)]).toEqual([7]);
  });

  it('a path over PATH_MAX is refused before any work, naming the limit', () => {
    // A folder whose path leaves room for the file's name but not for the temporary one.
    let deep = dir;
    while (deep.length < 4095 - 20 - 201) deep = join(deep, 'd'.repeat(200));
    deep = join(deep, 'd'.repeat(4095 - 20 - deep.length - 1));
    mkdirSync(deep, { recursive: true });
    const target = join(deep, 'y.safetensors');
    expect(target.length).toBeLessThanOrEqual(4095);
    expect(() => checkOutputPath('--output', target)).toThrow(/the path \(with its temporary name\) is \d+ bytes, over the 4095 a path may have \(PATH_MAX\)/);
    expect(() => checkOutputPath('--output', join(deep, 'y'.repeat(100)))).toThrow(/over the 4095 a path may have \(PATH_MAX\)/);
  });

  it('an append-only folder (chattr +a) is refused before any work: its atomic write could not remove its temporary file', () => {
    const folder = join(dir, 'append-only');
    mkdirSync(folder);
    let chattr = true;
    try {
      execFileSync('chattr', ['+a', folder], { stdio: 'ignore' });
    } catch {
      chattr = false; // not root, or a file system without the flag: then nothing is reported locked
    }
    if (!chattr) {
      console.warn('chattr +a unavailable here (needs root on ext4/xfs/btrfs): only the unlocked case is checked');
      expect(lockedAttribute(folder)).toBeNull();
      return;
    }
    expect(lockedAttribute(folder)).toBe('append-only');
    expect(() => checkOutputPath('--output', join(folder, 'y.safetensors'))).toThrow(/the folder ".*append-only" is append-only \(chattr \+a\)/);
    expect(readdirSync(folder)).toEqual([]);
    execFileSync('chattr', ['-a', folder]);
    expect(lockedAttribute(folder)).toBeNull();
  });
});

describe('a write that cannot clean up after itself', () => {
  it('names the temporary file it could not remove (a folder that lets nothing be renamed or removed)', () => {
    const target = join(dir, 'stuck.safetensors');
    const eperm = () => {
      throw Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' });
    };
    let message = '';
    try {
      writeFileAtomic(target, new Uint8Array([1]), { fs: { renameSync: eperm, unlinkSync: eperm } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^writing ".*stuck\.safetensors" failed: permission denied; any earlier file there is left as it was; the temporary file ".*\.stuck\.safetensors\.\d+\.[0-9a-f]{12}\.tmp" could not be removed \(permission denied\)$/);
    for (const f of readdirSync(dir).filter((n) => isTemporaryFor(target, n))) rmSync(join(dir, f));
  });
});
