// Paths given on the command line, checked before any GPU work: an empty one (an unset shell
// variable), a missing file, a FIFO, a device, a socket or a folder where a file is wanted is
// refused with a message naming the flag; nothing here opens anything that could block.
// Paths in messages are escaped (a newline or ESC in a file name cannot forge a line).

import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { InputError } from '../gpu/errors.js';
import { escapeUntrusted } from '../io/escape.js';
import { NAME_MAX_BYTES, PATH_MAX_BYTES, temporaryName } from './temp-name.js';

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
      // Node's message quotes the path: escaped like every other path.
      return code ?? escapeUntrusted(String((e as Error)?.message ?? e), 200);
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
  checkNameLengths(flag, path, target);
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
  checkNameLengths(flag, path, target);
  const locked = lockedAttribute(folder);
  if (locked) {
    throw new PathError(
      `${flag} ${showPath(path)}: the folder ${showPath(folder)} is ${locked} (chattr +${locked === 'append-only' ? 'a' : 'i'}): ` +
        'the atomic write (a temporary file renamed over the target) cannot rename or remove files there; write elsewhere', flag, path);
  }
  if (existing) {
    if (existing.isDirectory()) throw new PathError(`${flag} ${showPath(path)} is a directory: give a file name inside it`, flag, path);
    if (!existing.isFile()) throw new PathError(`${flag} ${showPath(path)} is ${fileKind(existing)}, not a regular file: ${flag} writes a file`, flag, path);
    try {
      accessSync(target, constants.W_OK);
    } catch (e) {
      throw new PathError(`${flag} ${showPath(path)} exists and is not writable (${reason(e)}): it is left as it is`, flag, path);
    }
    const lockedFile = lockedAttribute(target);
    if (lockedFile) throw new PathError(`${flag} ${showPath(path)} exists and is ${lockedFile}: it cannot be replaced, and is left as it is`, flag, path);
  }
  return target;
}

/**
 * The names a write to `target` uses, checked before any work rather than when the write
 * begins: the file's own and the temporary one beside it (temp-name.ts keeps that within
 * NAME_MAX), and both whole paths within PATH_MAX.
 */
function checkNameLengths(flag: string, path: string, target: string): void {
  const nameBytes = Buffer.byteLength(basename(target));
  if (nameBytes > NAME_MAX_BYTES) {
    throw new PathError(`${flag} ${showPath(path)}: the file name is ${nameBytes} bytes, over the ${NAME_MAX_BYTES} a file name may have (NAME_MAX)`, flag, path);
  }
  const pathBytes = Math.max(Buffer.byteLength(target), Buffer.byteLength(temporaryName(target)));
  if (pathBytes > PATH_MAX_BYTES) {
    throw new PathError(`${flag} ${showPath(path)}: the path (with its temporary name) is ${pathBytes} bytes, over the ${PATH_MAX_BYTES} a path may have (PATH_MAX)`, flag, path);
  }
}

/**
 * 'append-only' or 'immutable' where the file system marks the file or folder so (Linux's
 * chattr +a / +i, read with lsattr, which e2fsprogs installs nearly everywhere); null otherwise,
 * or where lsattr is missing or the file system has no such flags. An append-only folder takes
 * new files but never lets one be renamed or removed, so an atomic write there would leave its
 * temporary file behind: it is refused before any work instead.
 */
export function lockedAttribute(path: string): 'append-only' | 'immutable' | null {
  if (process.platform !== 'linux') return null;
  const r = spawnSync('lsattr', ['-d', '--', path], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  const flags = r.stdout.split(' ', 1)[0] ?? '';
  if (!/^[-a-zA-Z]+$/.test(flags)) return null;
  if (flags.includes('i')) return 'immutable';
  if (flags.includes('a')) return 'append-only';
  return null;
}

/** How two paths of one file differ, for the refusal: a symbolic link, a hard link, or another spelling. */
function howSame(a: string, b: string): string {
  try {
    if (lstatSync(a).isSymbolicLink() || lstatSync(b).isSymbolicLink()) return 'through a symbolic link';
    if (realpathSync(a) !== realpathSync(b)) return 'a hard link to it';
  } catch {
    // one of them vanished meanwhile: the general words
  }
  return 'the same file by another path';
}

/** An input the run reads: the flag that named it and the path as given. */
export interface NamedInput {
  flag: string;
  path: string;
}

/**
 * Refuses an output that is one of the run's inputs: the atomic rename would replace the input
 * with the result. Same file means the same device and inode where the output exists (a symbolic
 * link or a hard link to the input is caught), the same real path otherwise. `target` is what
 * checkOutputPath returned.
 */
export function refuseOutputOverInputs(flag: string, given: string, target: string, inputs: readonly NamedInput[]): void {
  let out: Stats | null = null;
  try {
    out = statSync(target);
  } catch {
    out = null;
  }
  let outReal: string = target;
  try {
    outReal = resolve(realpathSync(dirname(target)), basename(target));
  } catch {
    // checkOutputPath checked the folder; a race leaves the plain path to compare
  }
  for (const input of inputs) {
    let same = false;
    try {
      const s = statSync(input.path);
      same = out !== null ? s.dev === out.dev && s.ino === out.ino : realpathSync(input.path) === outReal;
    } catch {
      same = resolve(input.path) === outReal;
    }
    if (same) {
      throw new PathError(
        `${flag} ${showPath(given)} is the same file as ${input.flag} ${showPath(input.path)}${given === input.path ? '' : ` (${howSame(given, input.path)})`}: ` +
          `the result would replace the run's own input; give ${flag} another name`, flag, given);
    }
  }
}
