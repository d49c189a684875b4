// Shared by the issue-21 CLI tests: the built command (test/helpers/cli.ts) and small weights and inputs files.
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeSafetensors, weightName } from '../../src/io/safetensors.js';
import { runCli, tuneDir, type CliResult } from '../helpers/cli.js';
import { freshSeed, rng } from '../helpers/seeds.js';

export { tuneDir, type CliResult };

/** The command run to completion (test/helpers/cli.ts runCli). */
export const cli = runCli;

export const freshDir = (): string => realpathSync(mkdtempSync(join(tmpdir(), 'wa-i21-')));

/** A weights file of `layers` layers, d_model 16, heads·d_head 16; `edit` may change a tensor first. */
export function writeWeights(path: string, options: { layers?: number; seed?: number; edit?: (t: Record<string, { shape: number[]; data: Float32Array }>) => void } = {}): number {
  const seed = options.seed ?? freshSeed();
  const next = rng(seed);
  const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * s);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (let l = 0; l < (options.layers ?? 2); l++) {
    for (const p of ['q', 'k', 'v', 'o'] as const) tensors[weightName(l, p)] = { shape: [16, 16], data: rand(256, p === 'o' ? 0.2 : 0.5) };
  }
  options.edit?.(tensors);
  writeFileSync(path, serializeSafetensors(tensors));
  return seed;
}

export function writeInput(path: string, seq = 5, seed = freshSeed()): void {
  const next = rng(seed);
  writeFileSync(path, serializeSafetensors({ x: { shape: [seq, 16], data: Float32Array.from({ length: seq * 16 }, () => next() * 2 - 1) } }));
}
