// Generation: a prefill, then `steps` decode steps (./session.ts). With a model each step feeds the
// token chosen from the previous logits (greedy, or sampled with a temperature and a seed:
// ./sampling.ts), so `generated` holds steps + 1 ids: the prefill's choice and one per step. Without
// a model step t feeds row seq + t of the seeded input sequence (seededStepRow): the same rows a
// prefill of seq + t + 1 seeded tokens reads, so a step can be checked against such a prefill and
// recomputed on the CPU. An aborted signal stops after the current step with what was generated.

import type { AttentionConfig } from './config.js';
import type { Engine } from './engine.js';
import type { RunResult } from './run-types.js';
import { chooseToken, type Sampling } from './sampling.js';
import { planSession, seededStepRow, Session, type DecodeStep, type SessionOptions } from './session.js';
import { InputError } from '../gpu/errors.js';
import { summarizeDecode, type DecodeVerification } from '../verify/decode.js';

export interface GenerateOptions extends SessionOptions {
  /** Decode steps after the prefill (a positive integer). */
  steps: number;
  sampling?: Sampling;
  /** After the prefill (its logits' choice given with a model). */
  onPrefill?: (result: RunResult, token: number | null) => void | Promise<void>;
  /** After each step, with the token chosen from its logits (model), in order. */
  onStep?: (step: DecodeStep, next: number | null) => void | Promise<void>;
}

export interface DecodeSummary {
  steps: DecodeStep[];
  /** Steps per second of step time (ms), verification excluded. */
  tokensPerSecond: number;
  /** Mean bytes a step read (weights, cached K and V, unembedding). */
  bytesPerStep: number;
  /** bytesPerStep over the mean step time. */
  gbPerSecond: number;
  verification: DecodeVerification;
  /** Every layer's weights stayed on the GPU (else each step streamed them in). */
  residentWeights: boolean;
}

export interface GenerateResult {
  prefill: RunResult;
  decode: DecodeSummary;
  /** Model sessions: the prefill's choice and each step's, in order; else null. */
  generated: number[] | null;
  /** Interrupted (signal) before every step ran. */
  stopped: boolean;
  config: AttentionConfig;
}

/** Refuses, before any GPU work, a step count that is not a positive integer or runs past the cache or the model's positions. */
export function checkDecodeSteps(cfg: AttentionConfig, steps: number, positionRows?: number, positionOffset = 0): void {
  if (!Number.isInteger(steps) || steps < 1) throw new InputError(`--decode must be a positive integer, got ${String(steps)}`);
  if (!cfg.cross && cfg.seq + steps > cfg.maxSeq) {
    throw new InputError(`--decode ${steps} after ${cfg.seq} prompt tokens needs ${cfg.seq + steps} positions, over the context of ${cfg.maxSeq} (--max-seq): at most --decode ${cfg.maxSeq - cfg.seq}`);
  }
  if (positionRows !== undefined && cfg.seq + steps + positionOffset > positionRows) {
    throw new InputError(`--decode ${steps} after ${cfg.seq} tokens needs ${cfg.seq + steps} positions, but the model has ${positionRows - positionOffset}: at most --decode ${positionRows - positionOffset - cfg.seq}`);
  }
}

export async function generate(engine: Engine, config: Partial<AttentionConfig>, options: GenerateOptions): Promise<GenerateResult> {
  const { cfg } = planSession(engine, config, options);
  const model = options.model;
  checkDecodeSteps(cfg, options.steps, model ? model.tensors.positionEmbedding.length / cfg.dModel : undefined, model?.tensors.positionOffset);
  const t = options.sampling?.temperature;
  if (t !== undefined && !(Number.isFinite(t) && t >= 0)) throw new InputError(`--temperature must be a finite number >= 0, got ${String(t)}`);
  const session = await Session.open(engine, cfg, options);
  try {
    const prefill = await session.prefill();
    const steps: DecodeStep[] = [];
    const generated: number[] | null = model ? [] : null;
    let next: number | null = null;
    if (model && prefill.logits && !prefill.stopped) {
      next = chooseToken(prefill.logits, 0, options.sampling);
      generated!.push(next);
    }
    await options.onPrefill?.(prefill, next);
    let stopped = prefill.stopped;
    for (let s = 0; !stopped && s < options.steps; s++) {
      if (options.signal?.aborted) {
        stopped = true;
        break;
      }
      const input = model ? next! : seededStepRow(options.seed ?? 1, session.length, cfg.dModel);
      const step = await session.step(input);
      steps.push(step);
      next = model && step.logits ? chooseToken(step.logits, s + 1, options.sampling) : null;
      if (next !== null) generated!.push(next);
      await options.onStep?.(step, next);
    }
    return { prefill, decode: summarizeSteps(steps, options.verify ?? 'none', session.residentWeights), generated, stopped: stopped || steps.length < options.steps, config: cfg };
  } finally {
    session.destroy();
  }
}

export function summarizeSteps(steps: DecodeStep[], mode: DecodeVerification['mode'], residentWeights: boolean): DecodeSummary {
  const ms = steps.reduce((s, x) => s + x.ms, 0);
  const bytes = steps.length ? steps.reduce((s, x) => s + x.bytes, 0) / steps.length : 0;
  const meanMs = steps.length ? ms / steps.length : 0;
  return {
    steps,
    tokensPerSecond: ms > 0 ? (1000 * steps.length) / ms : 0,
    bytesPerStep: bytes,
    gbPerSecond: meanMs > 0 ? bytes / (meanMs * 1e6) : 0,
    residentWeights,
    verification: summarizeDecode(mode, steps.length, steps.flatMap((s) => s.checks), steps.flatMap((s) => s.endChecks.map((check) => ({ step: s.step, check })))),
  };
}
