// Copies of the golden checkpoint folders (test/golden/checkpoints) for a test to spoil: one scratch folder per test
// file, named by its real path (so checks that compare real paths, such as --output against the inputs, see the same
// names the test builds), removed after the file's tests.

import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { GOLDEN_DIR } from './golden.js';

export const CHECKPOINTS_DIR = join(GOLDEN_DIR, 'checkpoints');

export interface CheckpointCopies {
  /** The scratch folder the copies live in (for other files a test makes beside them). */
  scratch: string;
  /** A fresh copy of the golden checkpoint `name`, changed by `edit` when given. */
  copyOf(name: string, edit?: (dir: string) => void): string;
}

export function useCheckpointCopies(prefix: string): CheckpointCopies {
  const scratch = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  let copies = 0;
  return {
    scratch,
    copyOf(name, edit) {
      const dir = join(scratch, `${name}-${copies++}`);
      mkdirSync(dir);
      for (const f of readdirSync(join(CHECKPOINTS_DIR, name))) copyFileSync(join(CHECKPOINTS_DIR, name, f), join(dir, f));
      edit?.(dir);
      return dir;
    },
  };
}

/** Rewrites a JSON file (a checkpoint's config.json or index) through `edit`. */
export function editJson(path: string, edit: (json: Record<string, any>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  edit(json);
  writeFileSync(path, JSON.stringify(json));
}
