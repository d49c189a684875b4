// Where Node keeps the tuned choices per adapter between processes: a folder,
// $WEBGPU_ATTENTION_TUNE_DIR, else $XDG_CACHE_HOME/webgpu-attention (~/.cache when XDG_CACHE_HOME
// is unset), with matmul-tiles.json (the matmul tile config, kernels/autotune.ts) and
// attention-cores.json (fused or materialized, model/attention-tune.ts). An unreadable file reads
// as empty; a failed write is reported and otherwise ignored: tuning is an optimisation.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TuneStore } from '../kernels/autotune.js';

export type TuneKind = 'matmul' | 'attention';
const FILES: Record<TuneKind, string> = { matmul: 'matmul-tiles.json', attention: 'attention-cores.json' };

export function defaultTuneDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WEBGPU_ATTENTION_TUNE_DIR) return env.WEBGPU_ATTENTION_TUNE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'webgpu-attention');
}

export const defaultTuneFile = (kind: TuneKind, env: NodeJS.ProcessEnv = process.env): string => join(defaultTuneDir(env), FILES[kind]);

export function fileTuneStore(path: string, warn: (line: string) => void = (l) => console.error(l)): TuneStore & { path: string } {
  return {
    path,
    load() {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return null;
      }
    },
    save(text: string) {
      try {
        mkdirSync(dirname(path), { recursive: true });
        // Whole or not at all: a concurrent reader never sees half a file.
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, text);
        renameSync(tmp, path);
      } catch (e) {
        warn(`could not save the tuning to ${path}: ${(e as Error).message}`);
      }
    },
  };
}

/** The store of one kind of choice in the default folder. */
export const defaultTuneStore = (kind: TuneKind): TuneStore & { path: string } => fileTuneStore(defaultTuneFile(kind));
