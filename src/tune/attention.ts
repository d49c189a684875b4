// Per adapter and head width, which attention core is faster: the materialized pattern (three
// passes) or the fused kernel. Timed once by running a short causal stack both ways through the
// engine itself (the second and later layers, pipelines built: the engine passes `timeLayers`),
// and kept in a store beside the matmul choice (store.ts). src/model/attention-choice.ts uses the
// choice. Only the attention core differs between the two runs, so whole-layer times
// compare them. Software adapters are not timed unless asked: their default was measured.

import type { AttentionConfig } from '../model/config.js';
import type { AttentionMode } from '../model/plan.js';
import { chooseAttentionTile } from '../kernels/attention.js';
import type { TileLimits } from '../kernels/matmul.js';
import { median } from '../stats.js';
import { readTuneEntries, saveTuneEntry, type TuneStore } from './store.js';

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

export interface AttentionTuneOptions {
  store?: TuneStore;
  /** 'auto' (default): hardware adapters only; false: neither, the rule applies; true: always. */
  tune?: boolean | 'auto';
  retune?: boolean;
  /** Storage precision the cores are timed in (and the choice kept for); default 'f32'. */
  precision?: 'f32' | 'f16';
}

/**
 * The policy of `Engine.tuneAttention`: a stored choice, else (when tuning applies and the fused
 * kernel fits) both cores timed on a short causal stack by `timeLayers`, the faster kept.
 * A timing that cannot run (memory, limits) leaves the rule: tuning is an optimisation.
 */
export async function tuneAttentionChoice(
  adapterKey: string, dHead: number, limits: TileLimits, software: boolean, options: AttentionTuneOptions,
  timeLayers: (cfg: AttentionConfig, attention: AttentionMode) => Promise<number[]>,
  isLost: () => boolean,
): Promise<AttentionTuneResult> {
  const tune = options.tune ?? 'auto';
  if (tune === false) return { mode: null, source: 'default' };
  // f16 choices are kept apart from f32 ones, as the matmul tuner keeps its tiles.
  const key = attentionKey(adapterKey, dHead) + (options.precision === 'f16' ? '|f16' : '');
  const stored = options.retune ? null : loadAttentionChoice(options.store, key);
  if (stored) return { mode: stored, source: 'store' };
  if ((tune === 'auto' && software) || chooseAttentionTile(dHead, limits, software) === null) return { mode: null, source: 'default' };
  const shape = tuneShape(dHead, software);
  const cfg: AttentionConfig = {
    layers: 4, heads: shape.heads, dHead, dModel: shape.heads * dHead, seq: shape.seq, maxSeq: Math.max(2048, shape.seq),
    mask: true, cross: false, kvSeq: shape.seq, bias: false, norm: 'none', precision: 'f32', block: 'attention', ffn: 4 * shape.heads * dHead, activation: 'gelu_new', lnEps: 1e-5,
  };
  let materializedMs: number;
  let fusedMs: number;
  try {
    materializedMs = steadyLayerMs(await timeLayers(cfg, 'materialized'));
    fusedMs = steadyLayerMs(await timeLayers(cfg, 'fused'));
  } catch (e) {
    if (isLost()) throw e;
    return { mode: null, source: 'default', error: (e as Error).message };
  }
  const mode: AttentionMode = fusedMs < materializedMs ? 'fused' : 'materialized';
  saveAttentionChoice(options.store, key, { mode, shape, materializedMs, fusedMs });
  return { mode, source: 'tuned', shape, materializedMs, fusedMs };
}
