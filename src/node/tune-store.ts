// Where Node keeps the autotuner's per-adapter matmul choices between processes: one JSON file,
// $WEBGPU_ATTENTION_TUNE_FILE, else $XDG_CACHE_HOME/webgpu-attention/matmul-tiles.json
// (~/.cache when XDG_CACHE_HOME is unset). An unreadable file reads as empty; a failed write
// is reported once and otherwise ignored: tuning is an optimisation.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TuneStore } from '../kernels/autotune.js';

export function defaultTuneFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WEBGPU_ATTENTION_TUNE_FILE) return env.WEBGPU_ATTENTION_TUNE_FILE;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'webgpu-attention', 'matmul-tiles.json');
}

export function fileTuneStore(path = defaultTuneFile(), warn: (line: string) => void = (l) => console.error(l)): TuneStore & { path: string } {
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
        warn(`could not save the matmul tuning to ${path}: ${(e as Error).message}`);
      }
    },
  };
}
