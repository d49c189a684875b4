// On a software adapter `run` refuses (unless --force) what would take over SOFTWARE_REFUSE_S, before any heavy GPU
// work. The time comes from rates measured on this adapter, by the page's probe and estimate (src/model/rates.ts):
// a fixed rate was 8–9× off on SwiftShader (issue 21), and software adapters differ by an order of magnitude between
// machines and with load. The probe (four one-layer runs at d_model 512: about 0.3 s on lavapipe with Mesa's shader
// cache warm, a few seconds cold) is skipped where even floor rates, far below any software adapter measured, put the
// run under the limit: small runs, and the test suite's, start at once.

import { ConfigError, resolveConfig, type AttentionConfig } from '../model/config.js';
import type { Engine } from '../model/engine.js';
import { layerFlops, parameterCount } from '../model/flops.js';
import { estimateSeconds, measuredRates, nearestSample, PROBE_CONFIG, type Rates } from '../model/rates.js';
import { escapeUntrusted } from '../io/escape.js';
import { configFromFlags, parseFlags, RUN_FLAGS } from './args.js';

/** Longer than this on a software adapter is refused without --force. */
export const SOFTWARE_REFUSE_S = 600;
/**
 * The floor rates under which no probe is needed: a quarter of the slowest probe measured on a software adapter
 * (SwiftShader in Chromium, 86 MFLOP/s; lavapipe's probe reads 5.8–9.7 GFLOP/s here) and a hundredth of lavapipe's
 * weight generation (1.0–2.0·10⁸ weights/s; bench/RESULTS.md). A run under the limit even at these needs no measurement.
 */
export const FLOOR_FLOPS_PER_S = 2e7;
export const FLOOR_WEIGHTS_PER_S = 1e6;
/** The rule before measured rates, used only when the probe fails: lavapipe ≈ 4 GFLOP/s on a 512³ matmul. */
export const FIXED_FLOPS_PER_S = 4e9;

/** What the check did, reported in --json (`slowRunCheck`) and in a refusal's JSON error. */
export type SlowRunCheck =
  | { checked: false; why: '--force' }
  | {
    checked: true;
    /** bound: under the limit at the floor rates, no probe; probe: the rates measured here; fixed: the probe failed. */
    by: 'bound' | 'probe' | 'fixed';
    seconds: number;
    limitSeconds: number;
    flopsPerS: number;
    weightsPerS: number | null;
    /** Where the FLOP rate comes from, in words (the message quotes it). */
    source: string;
    /** Wall time of the probe in this process (null where none ran). */
    probeMs: number | null;
    refused: boolean;
  };

export type PricedCheck = Extract<SlowRunCheck, { checked: true }>;

/** A refusal with what the check found, for the JSON error. */
export class SlowRunRefusal extends ConfigError {
  constructor(message: string, readonly check: PricedCheck) {
    super(message);
    this.name = 'SlowRunRefusal';
  }
}

const runFlops = (cfg: AttentionConfig): number => layerFlops(cfg).total * cfg.layers;

/** `cfg` at the floor rates: where this is under the limit the run needs no probe. */
export function boundCheck(cfg: AttentionConfig): PricedCheck {
  const seconds = runFlops(cfg) / FLOOR_FLOPS_PER_S + parameterCount(cfg).total / FLOOR_WEIGHTS_PER_S;
  return {
    checked: true, by: 'bound', seconds, limitSeconds: SOFTWARE_REFUSE_S, flopsPerS: FLOOR_FLOPS_PER_S, weightsPerS: FLOOR_WEIGHTS_PER_S,
    source: 'floor rates below any software adapter measured', probeMs: null, refused: seconds > SOFTWARE_REFUSE_S,
  };
}

const PROBE_WORDS = `probe d_model ${PROBE_CONFIG.dModel}, ${PROBE_CONFIG.heads} heads × ${PROBE_CONFIG.dHead}, ${PROBE_CONFIG.seq} tokens`;

/** `cfg` at the rates measured here (the estimate the page shows), or at the fixed rate where the probe measured nothing. */
export function measuredCheck(cfg: AttentionConfig, rates: Rates, probeMs: number | null): PricedCheck {
  const sample = nearestSample(rates, cfg);
  const seconds = estimateSeconds(rates, cfg);
  if (sample && seconds !== null) {
    const source = `measured here: ${sample.from === 'probe' ? PROBE_WORDS : `a run at d_model ${sample.dModel}`}`;
    return { checked: true, by: 'probe', seconds, limitSeconds: SOFTWARE_REFUSE_S, flopsPerS: sample.flopsPerS, weightsPerS: rates.weightsPerS, source, probeMs, refused: seconds > SOFTWARE_REFUSE_S };
  }
  const fixed = runFlops(cfg) / FIXED_FLOPS_PER_S;
  const why = escapeUntrusted(rates.error ?? 'no time reported', 160);
  return {
    checked: true, by: 'fixed', seconds: fixed, limitSeconds: SOFTWARE_REFUSE_S, flopsPerS: FIXED_FLOPS_PER_S, weightsPerS: null,
    source: `a fixed rate: the probe failed, ${why}`, probeMs, refused: fixed > SOFTWARE_REFUSE_S,
  };
}

/** Smaller runs a refusal may suggest, each offered only where the same estimate puts it under the limit. */
export const SUGGESTED_FLAGS: readonly { flags: string; what: string }[] = [
  { flags: '--preset gpt3 --seq 16 --layers 2', what: 'GPT-3 widths, short sequence' },
  { flags: '--d-model 1024 --heads 8 --seq 128', what: 'a small stack' },
];

export const suggestionConfig = (flags: string): AttentionConfig => {
  const { base, overrides } = configFromFlags(parseFlags(flags.split(' '), RUN_FLAGS));
  return resolveConfig(overrides, base);
};

/** The one-line refusal: the estimate, the rate and where it was measured, --force, and what would run in time. */
export function refusalMessage(adapterName: string, check: PricedCheck, price: (cfg: AttentionConfig) => PricedCheck): string {
  const offered = SUGGESTED_FLAGS.map((s) => ({ ...s, check: price(suggestionConfig(s.flags)) })).filter((s) => !s.check.refused);
  const smaller = offered.length > 0
    ? `or try smaller flags, e.g. ${offered.map((s) => `${s.flags} (${s.what}: about ${formatSeconds(s.check.seconds)})`).join(' or ')}`
    : `no smaller configuration suggested: at this rate even ${SUGGESTED_FLAGS.at(-1)!.flags} is over the limit`;
  return `${adapterName} is a software adapter: this configuration would take about ${formatSeconds(check.seconds)} ${pricedAt(check)}, ` +
    `over the ${formatSeconds(check.limitSeconds)} allowed. Add --force to run it anyway, ${smaller}`;
}

/**
 * The check before a run: null on a hardware adapter; with --force nothing is priced; else the floor bound, and where
 * that is over the limit the probe's rates (fixed ones if it failed). Throws SlowRunRefusal over the limit.
 */
export async function checkSoftwareRun(engine: Engine, cfg: AttentionConfig, force: boolean): Promise<SlowRunCheck | null> {
  if (!engine.adapter.isSoftware) return null;
  if (force) return { checked: false, why: '--force' };
  const bound = boundCheck(cfg);
  if (!bound.refused) return bound;
  const started = performance.now();
  const rates = await measuredRates(engine);
  const probeMs = performance.now() - started;
  const check = measuredCheck(cfg, rates, probeMs);
  if (check.refused) throw new SlowRunRefusal(refusalMessage(engine.adapter.name, check, (c) => measuredCheck(c, rates, probeMs)), check);
  return check;
}

/** A note for stderr where the probe ran and the run goes ahead. */
export function slowRunNote(check: SlowRunCheck | null): string | null {
  if (!check?.checked || check.by === 'bound') return null;
  return `software adapter: about ${formatSeconds(check.seconds)} ${pricedAt(check)}; under the ${formatSeconds(check.limitSeconds)} allowed`;
}

/** "at 5.8 GFLOP/s (measured here: probe …) and its weights at 101 M/s", or the fixed rate and why. */
function pricedAt(check: PricedCheck): string {
  const weights = check.weightsPerS ? ` and its weights at ${formatCount(check.weightsPerS)}/s` : '';
  return `at ${check.by === 'fixed' ? '~' : ''}${formatRate(check.flopsPerS)} (${check.source})${weights}`;
}

export function formatSeconds(s: number): string {
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 120) return `${Math.round(s / 60)} min`;
  return s >= 10 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`;
}

export const formatRate = (flopsPerS: number): string =>
  flopsPerS >= 1e9 ? `${(flopsPerS / 1e9).toFixed(flopsPerS >= 1e10 ? 0 : 1)} GFLOP/s` : `${(flopsPerS / 1e6).toFixed(0)} MFLOP/s`;

const formatCount = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(0)} M` : `${Math.round(n)}`);
