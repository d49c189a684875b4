// For automation: window.webgpuAttention.lastRun holds the last finished run (set once its
// verification is settled): the configuration, tokens, timings, verification and, when they
// were captured, the patterns as patterns[layer][head][query][key] (and the raw scores alike).

import type { AttentionConfig, RunResult, Verification } from '../src/index.js';
import type { BenchResult } from './bench.js';
import type { NextToken } from '../src/model/next-tokens.js';

export interface LastRun {
  config: AttentionConfig;
  /** Which weights ran: seeded, the chapter's example, or a file by name. */
  weights: string;
  adapter: RunResult['adapter'];
  tokens: { ids: number[]; strings: string[]; contextIds: number[] | null; contextStrings: string[] | null } | null;
  layersRun: number;
  timings: RunResult['timings'] & { prepareMs: number };
  tflops: number;
  verification: Partial<Verification> & { passed: boolean | null; text: string };
  patterns: number[][][][] | null;
  /** Raw scores q·k/√d_head, null where masked (JSON has no −∞). */
  scores: (number | null)[][][][] | null;
  benchmark: BenchResult | null;
  /** A checkpoint run: the most likely next tokens (ids, text, p), best first; null when the stack did not run to its end. */
  nextTokens?: NextToken[] | null;
  /**
   * A checkpoint run: which files, and the milliseconds to open them (headers, config, tokenizer), to scan
   * every value for NaN/Inf (first run only: 0 after) and to read the model's tables (first run only).
   */
  checkpoint?: { label: string; family: string; dtypes: string; bytes: number; openMs: number; scanMs: number; tablesMs: number } | null;
}

/** [layer][head] flat seq × ctx arrays → [layer][head][query][key]. */
export function nest<T>(flat: Float32Array[][], seq: number, ctx: number, map: (v: number) => T): T[][][][] {
  return flat.map((layer) => layer.map((head) => Array.from({ length: seq }, (_, i) => Array.from(head.subarray(i * ctx, (i + 1) * ctx), map))));
}

/** Defines the patterns and scores lazily: nesting a large capture costs time only when read. */
export function lastRunOf(base: Omit<LastRun, 'patterns' | 'scores'>, patterns: Float32Array[][] | null, scores: Float32Array[][] | null): LastRun {
  const { seq, kvSeq } = base.config;
  let p: number[][][][] | null | undefined;
  let s: (number | null)[][][][] | null | undefined;
  return Object.defineProperties(base as LastRun, {
    patterns: { enumerable: true, get: () => (p ??= patterns && nest(patterns, seq, kvSeq, (v) => v)) },
    scores: { enumerable: true, get: () => (s ??= scores && nest(scores, seq, kvSeq, (v) => (Number.isFinite(v) ? v : null))) },
  });
}
