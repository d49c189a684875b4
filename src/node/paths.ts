// Paths given on the command line, checked before any GPU work: an empty one (an unset shell
// variable), a missing file, a FIFO, a device, a socket or a folder where a file is wanted is
// refused with a message naming the flag; nothing here opens anything that could block.
// Paths in messages are escaped (a newline or ESC in a file name cannot forge a line).

import { accessSync, closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../gpu/errors.js';
import { escapeUntrusted } from '../io/escape.js';

/** A path refused by checkInputPath or checkOutputPath; `flag` is the option that gave it. */
export class PathError extends InputError {
  constructor(
    message: string,
    readonly flag: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'PathError';
  }
}

/** A path quoted for a message: control characters as \xNN, a newline as \n, long paths cut at the start. */
export function showPath(path: string): string {
  return `"${escapeUntrusted(path, 160, 'end')}"`;
}

/** What a non-regular file is, for messages: "a directory", "a FIFO (named pipe)", … */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** The reason of a failed fs call, in words: "no such file", "permission denied", … */
function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many symbolic links (a loop?)';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EIO':
      return 'input/output error';
    default:
      return code ?? String((e as Error)?.message ?? e);
  }
}

function refuseEmptyOrNul(flag: string, path: string): void {
  if (typeof path !== 'string' || path === '') throw new PathError(`${flag} is empty: is a shell variable unset?`, flag, String(path ?? ''));
  if (path.includes('\0')) throw new PathError(`${flag} ${showPath(path)}: a path cannot contain a NUL character`, flag, path);
}

export interface CheckedInput {
  /** The path as given. */
  path: string;
  /** Its size in bytes when checked. */
  size: number;
}

/**
 * Checks a file to read (`--weights`, `--input`): not empty, exists, readable, and a regular file
 * (after following symbolic links). Only stat and access are called: a FIFO is refused without
 * being opened, so it cannot block. Throws a PathError naming the flag.
 * Open the file with openInputFile afterwards, which checks again on the open descriptor.
 */
export function checkInputPath(flag: string, path: string): CheckedInput {
  refuseEmptyOrNul(flag, path);
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (e) {
    throw new PathError(`${flag} ${showPath(path)}: ${reason(e)}`, flag, path);
  }
  if (!stats.isFile()) {
    throw new PathError(`${flag} ${showPath(path)} is ${fileKind(stats)}, not a regular file`, flag, path);
  }
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw new PathError(`${flag} ${showPath(path)} cannot be read: ${reason(e)}`, flag, path);
  }
  return { path, size: stats.size };
}

/**
 * Opens a checked input for reading without ever blocking: O_NONBLOCK (a FIFO put in the file's
 * place after checkInputPath opens at once instead of waiting for a writer), then fstat on the
 * open descriptor, so what is read is what was checked. Returns the descriptor (the caller closes
 * it) and the size. Throws a PathError naming the flag.
 */
export function openInputFile(flag: string, path: string): { fd: number; size: number } {
  checkInputPath(flag, path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new PathError(`${flag} ${showPath(path)} cannot be opened: ${reason(e)}`, flag, path);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new PathError(`${flag} ${showPath(path)} is ${fileKind(stats)}, not a regular file`, flag, path);
    return { fd, size: stats.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Checks a file to write (`--output`) before any GPU work, so a bad path fails in a second rather
 * than after the run: not empty; its folder exists, is a folder and is writable; the target, if
 * it exists, is a writable regular file (not a directory, FIFO, device or socket: the file is
 * replaced by an atomic rename, which must never put a file in place of /dev/null). A symbolic
 * link is followed: the file it points to is the one replaced.
 * Returns the absolute path to write (writeFileAtomic). Throws a PathError naming the flag.
 */
export function checkOutputPath(flag: string, path: string): string {
  refuseEmptyOrNul(flag, path);
  let target = resolve(path);
  if (path.endsWith('/') || path.endsWith('\\')) {
    throw new PathError(`${flag} ${showPath(path)} names a folder (it ends in a slash): give a file name`, flag, path);
  }
  let existing: Stats | null = null;
  try {
    const link = lstatSync(target);
    if (link.isSymbolicLink()) {
      try {
        target = realpathSync(target);
        existing = statSync(target);
      } catch (e) {
        // A dangling link: its target's folder decides, below.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        target = resolve(dirname(target), readlinkSync(target));
      }
    } else existing = link;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new PathError(`${flag} ${showPath(path)}: ${reason(e)}`, flag, path);
  }
  const folder = dirname(target);
  let folderStats: Stats;
  try {
    folderStats = statSync(folder);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a folder (a part of its path is a file)' : `cannot be used: ${reason(e)}`;
    throw new PathError(`${flag} ${showPath(path)}: the folder ${showPath(folder)} ${why}`, flag, path);
  }
  if (!folderStats.isDirectory()) {
    throw new PathError(`${flag} ${showPath(path)}: ${showPath(folder)} is ${fileKind(folderStats)}, not a folder`, flag, path);
  }
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new PathError(`${flag} ${showPath(path)}: the folder ${showPath(folder)} is not writable (${reason(e)})`, flag, path);
  }
  if (existing) {
    if (existing.isDirectory()) throw new PathError(`${flag} ${showPath(path)} is a directory: give a file name inside it`, flag, path);
    if (!existing.isFile()) throw new PathError(`${flag} ${showPath(path)} is ${fileKind(existing)}, not a regular file: ${flag} writes a file`, flag, path);
    try {
      accessSync(target, constants.W_OK);
    } catch (e) {
      throw new PathError(`${flag} ${showPath(path)} exists and is not writable (${reason(e)}): it is left as it is`, flag, path);
    }
  }
  return target;
}
