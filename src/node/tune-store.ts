// Where Node keeps the tuned choices per adapter between processes: a folder,
// $WEBGPU_ATTENTION_TUNE_DIR, else $XDG_CACHE_HOME/webgpu-attention (~/.cache when XDG_CACHE_HOME
// is unset), with matmul-tiles.json (the matmul tile config, src/tune/matmul.ts) and
// attention-cores.json (fused or materialized, src/tune/attention.ts). Tuning is an
// optimisation, so nothing here may stop or stall a run: a missing, unreadable, oversized or
// non-regular file reads as empty; a folder that cannot be made (a read-only disk, a path under
// /proc, where Node's recursive mkdir never returns) or a failed write is reported once, escaped,
// and otherwise ignored.

import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TuneStore } from '../tune/store.js';
import { writeFileAtomic } from './atomic-write.js';
import { showPath } from './paths.js';

export type TuneKind = 'matmul' | 'attention';
const FILES: Record<TuneKind, string> = { matmul: 'matmul-tiles.json', attention: 'attention-cores.json' };

/** A store file larger than this is not read (it reads as empty, and the next save replaces it). */
export const MAX_TUNE_STORE_BYTES = 1 << 20;
/** Folders created for the store at most, walking up to one that exists. */
const MAX_NEW_FOLDERS = 32;

export function defaultTuneDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WEBGPU_ATTENTION_TUNE_DIR) return env.WEBGPU_ATTENTION_TUNE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'webgpu-attention');
}

export const defaultTuneFile = (kind: TuneKind, env: NodeJS.ProcessEnv = process.env): string => join(defaultTuneDir(env), FILES[kind]);

/** Warnings already given in this process (one per folder and kind of trouble). */
const warned = new Set<string>();

function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const words: Record<string, string> = {
    ENOENT: 'no such folder', ENOTDIR: 'a part of the path is not a folder', EACCES: 'permission denied', EPERM: 'permission denied',
    EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', ENAMETOOLONG: 'the name is too long',
    ELOOP: 'too many symbolic links', EIO: 'input/output error',
  };
  return (code && words[code]) ?? (e instanceof Error ? e.message : String(e));
}

/**
 * Makes `folder` and its missing parents one at a time (never mkdir's recursive mode, which loops
 * forever under /proc), at most MAX_NEW_FOLDERS of them. Throws an Error in words.
 */
export function ensureFolder(folder: string): void {
  const missing: string[] = [];
  let d = resolve(folder);
  for (;;) {
    try {
      const s = statSync(d);
      if (!s.isDirectory()) throw Object.assign(new Error(`${showPath(d)} is not a folder`), { code: 'ENOTDIR' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      missing.push(d);
      const up = dirname(d);
      if (up === d || missing.length > MAX_NEW_FOLDERS) throw new Error(`more than ${MAX_NEW_FOLDERS} folders to create`);
      d = up;
    }
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      // Made meanwhile by another process: fine if it is a folder now.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(m).isDirectory()) throw e;
    }
  }
}

/** The file's text, or null: missing, not a regular file (never opened blocking), or over MAX_TUNE_STORE_BYTES. */
function readBounded(path: string, warn: (line: string) => void): string | null {
  let fd = -1;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const s = fstatSync(fd);
    if (!s.isFile()) return null;
    if (s.size > MAX_TUNE_STORE_BYTES) {
      warnOnce(`size|${path}`, warn, `the tuning store ${showPath(path)} is ${s.size} bytes, over the ${MAX_TUNE_STORE_BYTES} allowed: ignored (the next tuning replaces it)`);
      return null;
    }
    const bytes = new Uint8Array(s.size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return new TextDecoder().decode(bytes.subarray(0, done));
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function warnOnce(key: string, warn: (line: string) => void, line: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  warn(line);
}

export function fileTuneStore(path: string, warn: (line: string) => void = (l) => console.error(l)): TuneStore & { path: string } {
  return {
    path,
    load: () => readBounded(path, warn),
    save(text: string) {
      try {
        ensureFolder(dirname(path));
        // Whole or not at all: a concurrent reader never sees half a file.
        writeFileAtomic(path, new TextEncoder().encode(text));
      } catch (e) {
        // showPath escapes the path: an ESC or a newline in WEBGPU_ATTENTION_TUNE_DIR cannot reach the terminal.
        warnOnce(`save|${dirname(path)}`, warn, `could not save the tuning to ${showPath(path)}: ${reasonOf(e)}`);
      }
    },
  };
}

/** The store of one kind of choice in the default folder. */
export const defaultTuneStore = (kind: TuneKind): TuneStore & { path: string } => fileTuneStore(defaultTuneFile(kind));
