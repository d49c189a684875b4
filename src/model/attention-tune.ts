// Per adapter and head width, which attention core is faster: the materialized pattern (three
// passes) or the fused kernel. Timed once by running a short causal stack both ways through the
// engine itself (the second and later layers, pipelines built), and kept in a store beside the
// matmul choice. Only the attention core differs between the two runs, so whole-layer times
// compare them. Software adapters are not timed unless asked: their default was measured.

import type { AttentionMode } from './plan.js';
import type { TuneStore } from '../kernels/autotune.js';

/** Bumped when either kernel changes enough to invalidate stored choices. */
export const ATTENTION_TUNE_VERSION = 1;

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
  version: number;
  entries: Record<string, { mode: AttentionMode; materializedMs: number; fusedMs: number; shape: AttentionTuneShape; date: string }>;
}

/** The timed shape: GPT-3's n = 2048 with 16 heads on a GPU; 4 heads of 128 tokens on a CPU adapter. */
export const tuneShape = (dHead: number, software: boolean): AttentionTuneShape =>
  software ? { heads: 4, seq: 128, dHead } : { heads: 16, seq: 2048, dHead };

export const attentionKey = (adapterKey: string, dHead: number): string => `${adapterKey}|dHead ${dHead}`;

export function loadAttentionChoice(store: TuneStore | undefined, key: string): AttentionMode | null {
  try {
    const parsed = JSON.parse(store?.load() ?? '') as StoredAttention;
    if (parsed.version !== ATTENTION_TUNE_VERSION) return null;
    const mode = parsed.entries?.[key]?.mode;
    return mode === 'fused' || mode === 'materialized' ? mode : null;
  } catch {
    return null; // no store, or an unreadable one (rewritten by the next tuning)
  }
}

export function saveAttentionChoice(store: TuneStore | undefined, key: string, r: Required<Omit<AttentionTuneResult, 'source' | 'error'>>): void {
  if (!store || !r.mode) return;
  let choices: StoredAttention = { version: ATTENTION_TUNE_VERSION, entries: {} };
  try {
    const old = JSON.parse(store.load() ?? '') as StoredAttention;
    if (old.version === ATTENTION_TUNE_VERSION && old.entries) choices = old;
  } catch {
    // start afresh
  }
  choices.entries[key] = { mode: r.mode, materializedMs: r.materializedMs, fusedMs: r.fusedMs, shape: r.shape, date: new Date().toISOString() };
  store.save(JSON.stringify(choices, null, 2));
}

/** Median of the layer times after the first (which builds pipelines and, on lavapipe, JIT-compiles). */
export function steadyLayerMs(perLayerMs: readonly number[]): number {
  const rest = [...perLayerMs.slice(1)].sort((a, b) => a - b);
  if (rest.length === 0) throw new Error('steadyLayerMs: at least two layers are needed');
  const mid = rest.length >> 1;
  return rest.length % 2 ? rest[mid]! : (rest[mid - 1]! + rest[mid]!) / 2;
}
