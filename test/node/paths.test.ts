// Input and output paths are refused before any GPU work, with the flag named and the path escaped.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInputPath, checkOutputPath, openInputFile, PathError, showPath } from '../../src/node/paths.js';
import { InputError } from '../../src/gpu/errors.js';

let dir: string;
beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'wa-paths-')));
});
afterAll(() => {
  try {
    chmodSync(join(dir, 'locked'), 0o755);
  } catch {
    // not made
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A FIFO made with mkfifo(1); null where the platform has none (the FIFO tests then skip, saying so). */
function makeFifo(name: string): string | null {
  const path = join(dir, name);
  try {
    execFileSync('mkfifo', [path], { stdio: 'ignore' });
    return path;
  } catch {
    return null;
  }
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const fifoAvailable = (() => {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('checkInputPath', () => {
  it('refuses an empty path as an unset shell variable', () => {
    expect(() => checkInputPath('--weights', '')).toThrow(PathError);
    expect(() => checkInputPath('--weights', '')).toThrow('--weights is empty: is a shell variable unset?');
    expect(() => checkInputPath('--input', '')).toThrow(InputError);
  });

  it('refuses a missing file, naming the flag', () => {
    expect(() => checkInputPath('--weights', join(dir, 'nope.safetensors'))).toThrow(/^--weights ".*nope\.safetensors": no such file$/);
    expect(() => checkInputPath('--input', join(dir, 'nope', 'x'))).toThrow(/--input .*: no such file/);
  });

  it('refuses a directory', () => {
    expect(() => checkInputPath('--weights', dir)).toThrow(/--weights ".*" is a directory, not a regular file/);
  });

  it('refuses a character device', () => {
    expect(() => checkInputPath('--input', '/dev/null')).toThrow('--input "/dev/null" is a character device, not a regular file');
  });

  it.skipIf(!fifoAvailable)('refuses a FIFO without opening it (it would block forever; skipped where mkfifo is missing)', () => {
    const fifo = makeFifo('pipe')!;
    expect(fifo).toBeTruthy();
    expect(() => checkInputPath('--weights', fifo)).toThrow(/--weights ".*pipe" is a FIFO \(named pipe\), not a regular file/);
    // openInputFile opens without blocking even if the check were skipped, and refuses it on the descriptor.
    expect(() => openInputFile('--weights', fifo)).toThrow(/FIFO/);
  });

  it('accepts a regular file (through a symbolic link too) and gives its size', () => {
    const file = join(dir, 'w.safetensors');
    writeFileSync(file, new Uint8Array(40));
    expect(checkInputPath('--weights', file)).toEqual({ path: file, size: 40 });
    symlinkSync(file, join(dir, 'link.safetensors'));
    expect(checkInputPath('--weights', join(dir, 'link.safetensors')).size).toBe(40);
    const opened = openInputFile('--weights', file);
    expect(opened.size).toBe(40);
    closeSync(opened.fd);
  });

  it('escapes control characters and newlines in the path it shows', () => {
    const evil = join(dir, 'a\nverification passed\x1b[2J.safetensors');
    let message = '';
    try {
      checkInputPath('--weights', evil);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('\\nverification passed\\x1b[2J');
    expect(message).not.toMatch(/[\n\x1b]/);
    expect(showPath('tab\there')).toBe('"tab\\there"');
  });

  it('refuses a NUL character', () => {
    expect(() => checkInputPath('--input', 'a\0b')).toThrow(/--input "a\\x00b": a path cannot contain a NUL character/);
  });
});

describe('checkOutputPath', () => {
  it('refuses an empty path', () => {
    expect(() => checkOutputPath('--output', '')).toThrow('--output is empty: is a shell variable unset?');
  });

  it('refuses a folder that does not exist, before any work', () => {
    expect(() => checkOutputPath('--output', join(dir, 'missing', 'y.safetensors'))).toThrow(/--output ".*y\.safetensors": the folder ".*missing" does not exist/);
  });

  it('refuses a parent that is a file', () => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    expect(() => checkOutputPath('--output', join(file, 'y.safetensors'))).toThrow(/--output ".*y\.safetensors": ".*plain" is a regular file, not a folder/);
  });

  it('refuses a directory as the target, and a trailing slash', () => {
    mkdirSync(join(dir, 'sub'));
    expect(() => checkOutputPath('--output', join(dir, 'sub'))).toThrow(/--output ".*sub" is a directory/);
    expect(() => checkOutputPath('--output', join(dir, 'sub') + '/')).toThrow(/names a folder/);
  });

  it('refuses a device or FIFO as the target (a rename must never replace /dev/null)', () => {
    expect(() => checkOutputPath('--output', '/dev/null')).toThrow('--output "/dev/null" is a character device, not a regular file: --output writes a file');
    if (fifoAvailable) expect(() => checkOutputPath('--output', makeFifo('out-pipe')!)).toThrow(/FIFO/);
  });

  it.skipIf(isRoot)('refuses a folder it cannot write to (skipped as root: root writes anywhere)', () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    expect(() => checkOutputPath('--output', join(locked, 'y.safetensors'))).toThrow(/the folder ".*locked" is not writable \(permission denied\)/);
  });

  it('accepts a new file in a writable folder and an existing file, giving the absolute path', () => {
    expect(checkOutputPath('--output', join(dir, 'new.safetensors'))).toBe(join(dir, 'new.safetensors'));
    writeFileSync(join(dir, 'old.safetensors'), 'old');
    expect(checkOutputPath('--output', join(dir, 'old.safetensors'))).toBe(join(dir, 'old.safetensors'));
  });

  it('follows a symbolic link to the file it names', () => {
    writeFileSync(join(dir, 'real.safetensors'), 'old');
    symlinkSync(join(dir, 'real.safetensors'), join(dir, 'alias.safetensors'));
    expect(checkOutputPath('--output', join(dir, 'alias.safetensors'))).toBe(join(dir, 'real.safetensors'));
  });
});
