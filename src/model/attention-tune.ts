// Per adapter and head width, which attention core is faster: the materialized pattern (three
// passes) or the fused kernel. Timed once by running a short causal stack both ways through the
// engine itself (the second and later layers, pipelines built), and kept in a store beside the
// matmul choice. Only the attention core differs between the two runs, so whole-layer times
// compare them. Software adapters are not timed unless asked: their default was measured.

import type { AttentionMode } from './plan.js';
import { readTuneEntries, saveTuneEntry, type TuneStore } from '../kernels/autotune.js';
import { median } from '../stats.js';

/** Bumped when either kernel changes enough to invalidate stored choices. */
export const ATTENTION_TUNE_VERSION = 2; // 2: the materialized core runs the shuffle matmul on CPU adapters

export interface AttentionTuneShape {
  heads: number;
  seq: number;
  dHead: number;
}

export interface AttentionTuneResult {
  /** null: nothing timed or stored (the engine's rule applies). */
  mode: AttentionMode | null;
  source: 'store' | 'tuned' | 'default';
  shape?: AttentionTuneShape;
  materializedMs?: number;
  fusedMs?: number;
  /** Why the timing could not run (the rule applies then). */
  error?: string;
}

interface StoredAttention {
  mode: AttentionMode;
  materializedMs: number;
  fusedMs: number;
  shape: AttentionTuneShape;
  date: string;
}

/** The timed shape: GPT-3's n = 2048 with 16 heads on a GPU; 4 heads of 128 tokens on a CPU adapter. */
export const tuneShape = (dHead: number, software: boolean): AttentionTuneShape =>
  software ? { heads: 4, seq: 128, dHead } : { heads: 16, seq: 2048, dHead };

export const attentionKey = (adapterKey: string, dHead: number): string => `${adapterKey}|dHead ${dHead}`;

export function loadAttentionChoice(store: TuneStore | undefined, key: string): AttentionMode | null {
  const mode = readTuneEntries<StoredAttention>(store, ATTENTION_TUNE_VERSION)[key]?.mode;
  return mode === 'fused' || mode === 'materialized' ? mode : null;
}

export function saveAttentionChoice(store: TuneStore | undefined, key: string, r: Required<Omit<AttentionTuneResult, 'source' | 'error'>>): void {
  if (!r.mode) return;
  saveTuneEntry<StoredAttention>(store, ATTENTION_TUNE_VERSION, key, { mode: r.mode, materializedMs: r.materializedMs, fusedMs: r.fusedMs, shape: r.shape, date: new Date().toISOString() });
}

/** Median of the layer times after the first (which builds pipelines and, on lavapipe, JIT-compiles). */
export function steadyLayerMs(perLayerMs: readonly number[]): number {
  if (perLayerMs.length < 2) throw new Error('steadyLayerMs: at least two layers are needed');
  return median(perLayerMs.slice(1));
}
