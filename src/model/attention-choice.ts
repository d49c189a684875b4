// Which attention core a run uses, as one pure function of what decides it (the timing of both
// cores that may inform it lives with the rest of tuning, in src/tune/attention.ts).

import type { AttentionConfig } from './config.js';
import type { AttentionMode, PlanLimits } from './plan.js';
import { chooseAttentionTile, MAX_FUSED_D_HEAD } from '../kernels/attention.js';
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
