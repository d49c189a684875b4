// Writing a result file so that it is either the whole new file or the old one, never a cut-off
// mix: the bytes go to a temporary file in the same folder, are flushed to the disk (fsync), and
// the temporary file is renamed over the target (atomic within a file system); the folder is then
// flushed too, so the rename survives a crash. On any error (a full disk, a quota, an I/O error)
// the temporary file is removed and the old target is left byte for byte as it was.

import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { escapeUntrusted } from '../io/escape.js';
import { showPath } from './paths.js';
import { temporaryName } from './temp-name.js';

export { isTemporaryFor, temporaryName } from './temp-name.js';

/** The file-system calls writeFileAtomic makes; a test replaces one to simulate a failure. */
export interface AtomicWriteFs {
  openSync(path: string, flags: number, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  fsyncSync(fd: number): void;
  fchmodSync(fd: number, mode: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

const nodeFs: AtomicWriteFs = {
  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  fchmodSync: (fd, mode) => fs.fchmodSync(fd, mode),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (path) => fs.unlinkSync(path),
};

export interface AtomicWriteOptions {
  /** Permissions of a new file (default 0o666, less the umask); an existing file keeps its own. */
  mode?: number;
  /** Replaces some of the file-system calls (tests: a write that fails as a full disk would). */
  fs?: Partial<AtomicWriteFs>;
}

/** A failed atomic write: the target is unchanged and no temporary file is left. */
export class AtomicWriteError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'AtomicWriteError';
  }
}

function describe(e: unknown): string {
  const error = e as NodeJS.ErrnoException;
  switch (error?.code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'EIO':
      return 'input/output error';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOENT':
      return 'the folder does not exist';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      // Node's message quotes the path: escaped like every other path.
      return escapeUntrusted(error?.message ?? String(e), 200);
  }
}

/**
 * Writes `data` (one byte array, or several written one after another) to `path` atomically:
 * a temporary file in the same folder, every byte written, fsync, rename over `path`, fsync of
 * the folder where the platform allows it. On failure throws an AtomicWriteError saying the
 * earlier file (if any) is left as it was; the temporary file is removed.
 */
export function writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[], options: AtomicWriteOptions = {}): void {
  const io: AtomicWriteFs = { ...nodeFs, ...options.fs };
  const parts = data instanceof Uint8Array ? [data] : data;
  const temporary = temporaryName(path);
  let fd = -1;
  let created = false;
  try {
    let keepMode: number | undefined;
    try {
      keepMode = fs.statSync(path).mode & 0o7777;
    } catch {
      keepMode = undefined; // a new file
    }
    fd = io.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, options.mode ?? 0o666);
    created = true;
    if (keepMode !== undefined) io.fchmodSync(fd, keepMode);
    for (const part of parts) {
      let done = 0;
      while (done < part.byteLength) {
        // writeSync may write less than asked (and at most 2 GiB at a time): loop until all is written.
        const n = io.writeSync(fd, part, done, Math.min(part.byteLength - done, 1 << 30), null);
        if (n <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' });
        done += n;
      }
    }
    io.fsyncSync(fd);
    io.closeSync(fd);
    fd = -1;
    io.renameSync(temporary, path);
    created = false;
  } catch (e) {
    if (fd >= 0) {
      try {
        io.closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    }
    let left = '';
    if (created) {
      try {
        io.unlinkSync(temporary);
      } catch (u) {
        // An append-only folder (checkOutputPath refuses those it can see) lets nothing be removed: say so.
        left = `; the temporary file ${showPath(temporary)} could not be removed (${describe(u)})`;
      }
    }
    const code = (e as NodeJS.ErrnoException)?.code;
    throw new AtomicWriteError(`writing ${showPath(path)} failed: ${describe(e)}; any earlier file there is left as it was${left}`, path, code);
  }
  syncFolder(dirname(path), io);
}

/** Flushes a folder's entries (the rename) to the disk; a platform that cannot open folders is skipped. */
function syncFolder(folder: string, io: AtomicWriteFs): void {
  let fd = -1;
  try {
    fd = io.openSync(folder, fs.constants.O_RDONLY);
    io.fsyncSync(fd);
  } catch {
    // Windows cannot fsync a folder (EISDIR, EPERM); the file itself is already on the disk.
  } finally {
    if (fd >= 0) io.closeSync(fd);
  }
}
