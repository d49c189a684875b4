// `run --decode N [--temperature T --seed S]`: after the prefill, N decode steps of one token
// through every layer (src/model/generate.ts). The flags checked before any GPU work; the text
// printed as it grows (a checkpoint's tokenizer, escaped); a line per step on stderr; the report's
// `decode` and `generated`; the outcome, where a failed step check fails the run.

import { escapeUntrusted } from '../io/escape.js';
import type { TextTokenizer } from '../io/checkpoint-tokenizer.js';
import { ConfigError, type AttentionConfig } from '../model/config.js';
import type { DecodeSummary, GenerateResult } from '../model/generate.js';
import { checkDecodeSteps } from '../model/generate.js';
import { cacheRowProblem } from '../model/kv-cache.js';
import type { DecodeStep } from '../model/session.js';
import { formatBytes } from '../gpu/errors.js';
import { intFlag, type Flags } from './args.js';
import { describeStop, STOP_EXIT, type StopReason } from './interrupts.js';
import type { RunStatus } from './run-outcome.js';

export const DECODE_USAGE = `  --decode N                       after the prefill, N decode steps: one token at a time through every layer,
                                   its query against the KV cache of every earlier token (with --model the
                                   next token is chosen from each step's logits and the text printed as it
                                   grows; seeded runs feed row seq + t of the seeded inputs); each step's
                                   attention output checked against float64 as --verify says
  --temperature T                  with --model --decode: sample from softmax(logits / T) with --seed's
                                   generator (reproducible) instead of the greedy choice (T = 0, default)`;

export interface DecodeRequest {
  steps: number;
  temperature: number;
}

/** --decode and --temperature, checked before any file is opened or GPU work starts (null: no --decode). */
export function decodeFlags(flags: Flags): DecodeRequest | null {
  const steps = intFlag(flags, 'decode');
  const raw = flags.temperature;
  if (steps === undefined) {
    if (raw !== undefined) throw new ConfigError('--temperature needs --decode N (it chooses the generated tokens)');
    return null;
  }
  if (raw !== undefined && flags.model === undefined) throw new ConfigError('--temperature needs --model DIR: a seeded run chooses no tokens');
  const temperature = raw === undefined ? 0 : Number(raw);
  if (raw !== undefined && (String(raw).trim() === '' || !Number.isFinite(temperature) || temperature < 0 || temperature > 1e6)) {
    throw new ConfigError(`--temperature must be a number from 0 (greedy) to 1e6, got '${escapeUntrusted(String(raw), 30)}'`);
  }
  if (flags.output !== undefined) throw new ConfigError('--output writes a prefill\'s y: it cannot be combined with --decode (the JSON report holds every step)');
  return { steps, temperature };
}

/** The step count against the context and the model's positions, before any GPU work. */
export function checkDecodeRequest(cfg: AttentionConfig, d: DecodeRequest, positions?: { rows: number; offset: number }): void {
  checkDecodeSteps(cfg, d.steps, positions?.rows, positions?.offset);
  const rows = cacheRowProblem(cfg);
  if (rows) throw new ConfigError(rows);
}

/** Prints the continuation as it grows: the whole text decoded again each time, only the new part written. */
export class TextStream {
  private shown = '';
  constructor(private readonly tokenizer: TextTokenizer, private readonly prompt: number[], private readonly write: (s: string) => void) {}

  show(generated: number[]): void {
    // A byte-level BPE token may end inside a UTF-8 character: hold back a trailing replacement.
    const text = this.tokenizer.decode([...this.prompt, ...generated]).replace(/\uFFFD+$/, '');
    if (text.startsWith(this.shown)) this.write(escapeUntrusted(text.slice(this.shown.length), 10_000));
    else this.write(`\n${escapeUntrusted(text, 10_000)}`);
    this.shown = text;
  }
}

/** One stderr line per step. */
export function stepLine(s: DecodeStep, steps: number): string {
  const checks = s.checks.length + s.endChecks.length;
  const failed = s.checks.filter((c) => !c.passed).length + s.endChecks.filter((c) => !c.passed).length;
  return `decode step ${s.step + 1} of ${steps}: n ${s.n}, ${s.ms.toFixed(1)} ms` + (s.token !== null ? `, token ${s.token}` : '') +
    (checks ? `, ${failed ? `${failed} of ${checks} checks FAILED` : `${checks} checks passed`} (${s.verifyMs.toFixed(0)} ms)` : '');
}

/** The report's `decode`: each step's figures, the rates and the verification. */
export function decodeReport(d: DecodeSummary, requested: number) {
  return {
    requested,
    steps: d.steps.map((s) => ({
      step: s.step, position: s.position, n: s.n, ms: s.ms, verifyMs: s.verifyMs, bytes: s.bytes, token: s.token,
      finite: s.output.every(Number.isFinite),
      checks: s.checks.map((c) => ({ layer: c.layer, passed: c.passed, worstRatio: c.worstRatio })),
      ...(s.endChecks.length ? { ends: s.endChecks.map((c) => ({ name: c.name, passed: c.passed, worstRatio: c.worstRatio })) } : {}),
    })),
    residentWeights: d.residentWeights,
    tokensPerSecond: d.tokensPerSecond,
    bytesPerStep: d.bytesPerStep,
    gbPerSecond: d.gbPerSecond,
    verification: d.verification,
  };
}

export function decodeSummaryLine(d: DecodeSummary, requested: number): string {
  const v = d.verification;
  return `decode       ${d.steps.length} of ${requested} step(s), ${d.tokensPerSecond.toFixed(2)} tokens/s (step time, checks excluded), ` +
    `${formatBytes(d.bytesPerStep)} read a step (weights ${d.residentWeights ? 'resident' : 'streamed in'}, cached K and V), ${d.gbPerSecond.toFixed(2)} GB/s; ` +
    (v.passed === null ? 'steps not verified' : `steps ${v.passed ? 'passed' : 'FAILED'} (${v.mode}, ${v.checks} layer check(s)): ${v.detail}`);
}

/**
 * The run's outcome with its decode steps: the prefill's own outcome first (interrupted, non-finite,
 * failed), then an interrupt during the steps, a non-finite step, a failed step check.
 */
export function decodeOutcome(prefill: { status: RunStatus; exitCode: number; message: string }, g: GenerateResult, requested: number, signal: StopReason | null):
  { status: RunStatus; exitCode: number; message: string } {
  const d = g.decode;
  const ran = `${d.steps.length} of ${requested} decode step(s)`;
  if (prefill.status === 'interrupted' || prefill.status === 'non-finite' || prefill.status === 'failed') return { ...prefill, message: `${prefill.message}; ${ran} ran` };
  if (signal) {
    return { status: 'interrupted', exitCode: STOP_EXIT[signal], message: `${describeStop(signal)} after ${ran}${d.verification.passed === false ? '; a step check FAILED' : ''}` };
  }
  const bad = d.steps.find((s) => !s.output.every(Number.isFinite));
  if (bad) return { status: 'non-finite', exitCode: 3, message: `decode step ${bad.step} gave a residual stream that is not finite` };
  if (d.verification.passed === false) {
    const f = d.verification.failed[0];
    return { status: 'failed', exitCode: 1, message: `verification FAILED (${d.verification.mode}) at ${f ? `decode step ${f.step}, layer ${f.layer}` : 'a decode step\'s embedding or logits'}` };
  }
  if (prefill.status === 'not-verified') return { ...prefill, message: `${prefill.message}; ${ran}, not verified` };
  return { status: 'passed', exitCode: 0, message: `verification passed (${d.verification.mode}): the prefill and ${ran}` };
}
