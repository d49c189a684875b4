// The temporary file an atomic write goes through: `.<name>.<pid>.<hex>.tmp` beside the target,
// hidden, unique to this process and call. Its name must itself be a valid file name: a target
// name near the 255-byte limit (NAME_MAX) would otherwise fail only when the write begins, after
// the whole run, so the copied part of the name is cut to fit (at a UTF-8 character boundary).

import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** The longest file name (one path component) of Linux, macOS and Windows file systems, in bytes. */
export const NAME_MAX_BYTES = 255;
/** The longest path Linux takes (PATH_MAX, 4096 with its terminating NUL), in bytes. */
export const PATH_MAX_BYTES = 4095;

/** `.` + `.<pid up to 7 digits>.<12 hex>.tmp`: what the name adds around the target's name. */
const ADDED_BYTES = 1 + 1 + 7 + 1 + 12 + 4;

/** The target's name cut to at most `bytes` UTF-8 bytes, never inside a character. */
function cutUtf8(name: string, bytes: number): string {
  if (Buffer.byteLength(name) <= bytes) return name;
  let out = '';
  let used = 0;
  for (const c of name) {
    const n = Buffer.byteLength(c);
    if (used + n > bytes) break;
    out += c;
    used += n;
  }
  return out;
}

/** The temporary file's name: hidden, beside the target, unique to this process and call, at most NAME_MAX bytes. */
export function temporaryName(path: string): string {
  const stem = cutUtf8(basename(path), NAME_MAX_BYTES - ADDED_BYTES);
  return join(dirname(path), `.${stem}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** True for names temporaryName makes for `path` (tests look for leftovers with it). */
export function isTemporaryFor(path: string, name: string): boolean {
  const m = /^\.(.+)\.\d+\.[0-9a-f]{12}\.tmp$/su.exec(name);
  if (!m) return false;
  const base = basename(path);
  return m[1] === base || (base.startsWith(m[1]!) && m[1] === cutUtf8(base, NAME_MAX_BYTES - ADDED_BYTES));
}
