// Which attention core a run uses, as one pure function of what decides it, and the policy of
// timing both cores for an adapter (the timing itself runs the engine: attention-tune.ts keeps
// the store and the steady-state median).

import type { AttentionConfig } from './config.js';
import type { AttentionMode, PlanLimits } from './plan.js';
import { attentionKey, loadAttentionChoice, saveAttentionChoice, steadyLayerMs, tuneShape, type AttentionTuneResult } from './attention-tune.js';
import { chooseAttentionTile, MAX_FUSED_D_HEAD } from '../kernels/attention.js';
import type { TuneStore } from '../kernels/autotune.js';
import type { TileLimits } from '../kernels/matmul.js';
import { InputError } from '../gpu/errors.js';

export type AttentionRequest = 'auto' | AttentionMode;

export interface AttentionChoiceInput {
  /** What the caller asked for (RunOptions.attention, --attention); default 'auto'. */
  wanted?: AttentionRequest;
  /** Patterns are read back (the page's heatmaps): only the materialized core stores them. */
  capturePatterns?: boolean;
  /** The core a timing found faster for this adapter and head width, if any. */
  tuned?: AttentionMode | null;
  /** Cap on one pattern buffer (bytes), below the binding limit (tests force head groups). */
  patternBytes?: number;
}

/**
 * The attention core for a run: 'fused' or 'materialized' when asked (refused when impossible),
 * otherwise (auto) fused where one head's pattern would not fit a binding, else the timed choice,
 * else materialized on hardware adapters until timed, and fused on software adapters, measured
 * faster there (bench/RESULTS.md): with subgroups of 8 the fused kernel is attention_shuffle.wgsl
 * (on lavapipe faster than the shuffle matmuls' three passes: core 9.1 against 24.9 ms, layer 122
 * against 137), without them the tiled fused kernel (faster than the tiled matmuls' passes).
 * Materialized whenever patterns are captured.
 */
export function chooseAttention(cfg: AttentionConfig, limits: PlanLimits & TileLimits,
  adapter: { isSoftware: boolean; shuffleMatmul?: boolean }, input: AttentionChoiceInput = {}): AttentionMode {
  const wanted = input.wanted ?? 'auto';
  const fusedFits = chooseAttentionTile(cfg.dHead, limits, adapter.isSoftware) !== null;
  if (wanted === 'fused') {
    if (input.capturePatterns) throw new InputError('capturing patterns needs the materialized attention (the fused kernel never stores them): drop --attention fused');
    if (!fusedFits) throw new InputError(`--attention fused: --d-head ${cfg.dHead} fits no fused attention tile on this adapter (at most ${MAX_FUSED_D_HEAD}, within maxComputeWorkgroupStorageSize ${limits.maxComputeWorkgroupStorageSize})`);
    return 'fused';
  }
  if (wanted === 'materialized' || input.capturePatterns || !fusedFits) return 'materialized';
  const patternCap = Math.min(limits.maxStorageBufferBindingSize, input.patternBytes ?? Infinity);
  if (cfg.seq * cfg.kvSeq * 4 > patternCap) return 'fused';
  return input.tuned ?? (adapter.isSoftware ? 'fused' : 'materialized');
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
