// Command line of the benchmark (npm run bench -- FLAGS): the command's own flag parsing
// (src/cli/args.ts: node's util.parseArgs, integers checked with a message naming the flag).

import { intFlag, parseFlags } from '../src/cli/args.js';
import { ConfigError } from '../src/model/config.js';
import type { PeerPrecision } from './peers/types.js';

export const SUITES = ['matmul', 'softmax', 'weighted', 'attention', 'layer', 'stack', 'decode'] as const;
export type SuiteName = (typeof SUITES)[number];
export const PEERS = ['tfjs', 'ort', 'jax', 'cpu'] as const;
export type PeerFlag = (typeof PEERS)[number];
export const PRECISIONS: readonly PeerPrecision[] = ['f32', 'f16'];

export interface BenchArgs {
  quick: boolean;
  json: boolean;
  /** Also write the JSON array to this file (the human table still goes to stdout). */
  jsonFile: string | null;
  plot: string | null;
  /** null: the default set (every suite but stack and decode, plus stack on a hardware adapter without --quick). */
  suites: SuiteName[] | null;
  peers: PeerFlag[];
  /** The precisions measured, in this order: f32 and f16 rows (the f16 rows store inputs and outputs as f16). */
  precisions: PeerPrecision[];
  runs: number;
  /** null: 1 on a software adapter with --quick, else 3. */
  warmup: number | null;
  seed: number;
  /** Per peer call (warm-up and timed runs together); null: 30 s (software, quick), 180 s (software), 300 s (GPU). */
  peerTimeoutS: number | null;
  /** The matmul tile config: 'auto' times candidates once per hardware adapter (src/tune/matmul.ts). */
  tune: boolean | 'auto';
  /** Probe the adapter's FMA and copy peaks (bench/peak.ts) even where a published peak is known. */
  measurePeak: boolean;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]
  --quick             smaller sizes (on a software adapter: the whole run in under a minute)
  --json              print one JSON array of records on stdout (logs go to stderr)
  --json-file FILE    also write that JSON array to FILE (keeps the table on stdout)
  --plot FILE.svg     draw TFLOP/s against size for the square matmuls, ours and the peers
  --suite NAMES       comma-separated: ${SUITES.join(', ')}, all (default: all but stack and decode; stack too on a GPU without --quick)
  --peers LIST        comma-separated: ${PEERS.join(', ')}, or none (default: all; jax is jax-js, @jax-js/jax)
  --precision LIST    comma-separated: ${PRECISIONS.join(', ')} (default both): the f16 rows store inputs and outputs as f16
  --runs N            timed runs per measurement, median reported (default 10)
  --warmup N          untimed runs first (default 1 on a software adapter with --quick, else 3)
  --seed N            seed of the generated inputs (default 1)
  --peer-timeout S    seconds before a peer call is reported as timed out (default 30 software quick, 180 software, 300 GPU)
  --tune | --no-tune  matmul tile config: timed once per adapter and kept in the tune file as \`run\` does
                      (default: hardware adapters only), or the adapter's measured default
  --measure-peak      "% peak" against peaks probed in this run even where a published one is known
                      (an adapter without one is always probed)`;

export class ArgsError extends Error {
  override name = 'ArgsError';
}

const OPTIONS = {
  quick: { type: 'boolean' },
  json: { type: 'boolean' },
  'json-file': { type: 'string' },
  plot: { type: 'string' },
  suite: { type: 'string' },
  suites: { type: 'string' },
  peers: { type: 'string' },
  precision: { type: 'string' },
  runs: { type: 'string' },
  warmup: { type: 'string' },
  seed: { type: 'string' },
  'peer-timeout': { type: 'string' },
  tune: { type: 'boolean' },
  'no-tune': { type: 'boolean' },
  'measure-peak': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function file(flag: string, v: string | undefined): string | null {
  if (v === undefined) return null;
  if (!v.trim()) throw new ArgsError(`--${flag} needs a file name`);
  return v;
}

function list<T extends string>(flag: string, v: string, allowed: readonly T[], extra: string[]): T[] | string {
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new ArgsError(`--${flag} needs a value (${[...allowed, ...extra].join(', ')})`);
  for (const item of items) {
    if (items.length === 1 && extra.includes(item)) return item;
    if (!allowed.includes(item as T)) throw new ArgsError(`--${flag}: unknown "${item}" (one of ${[...allowed, ...extra].join(', ')})`);
  }
  return [...new Set(items)] as T[];
}

/** What util.parseArgs gives for OPTIONS: booleans for the boolean flags, strings for the rest. */
type FlagValues = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** The flags by name, through the command's parser: an unknown flag, a missing value or a bad integer is an ArgsError. */
function checked<T>(body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof ConfigError) throw new ArgsError(`${e.message}\n${USAGE}`);
    throw e;
  }
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const v = checked(() => parseFlags([...argv], OPTIONS)) as FlagValues;
  const int = (name: string, min: number) => checked(() => intFlag(v, name, { min }));
  if (v.suite !== undefined && v.suites !== undefined) throw new ArgsError('--suite and --suites are the same flag: give it once');
  if (v.tune && v['no-tune']) throw new ArgsError('--tune and --no-tune contradict each other: give one');
  const suiteFlag = v.suite !== undefined ? 'suite' : 'suites';
  const suiteList = v.suite ?? v.suites;
  const suites = suiteList === undefined ? null : list(suiteFlag, suiteList, SUITES, ['all']);
  const peers = v.peers === undefined ? [...PEERS] : list('peers', v.peers, PEERS, ['none']);
  const precisions = v.precision === undefined ? [...PRECISIONS] : list('precision', v.precision, PRECISIONS, []);
  return {
    quick: v.quick ?? false,
    json: v.json ?? false,
    jsonFile: file('json-file', v['json-file']),
    plot: file('plot', v.plot),
    suites: suites === null ? null : suites === 'all' ? [...SUITES] : (suites as SuiteName[]),
    peers: peers === 'none' ? [] : (peers as PeerFlag[]),
    // Always in f32, f16 order, whatever order the flag lists them in.
    precisions: PRECISIONS.filter((p) => (precisions as PeerPrecision[]).includes(p)),
    runs: int('runs', 1) ?? 10,
    warmup: int('warmup', 0) ?? null,
    seed: int('seed', 0) ?? 1,
    peerTimeoutS: int('peer-timeout', 1) ?? null,
    tune: v.tune ? true : v['no-tune'] ? false : 'auto',
    measurePeak: v['measure-peak'] ?? false,
    help: v.help ?? false,
  };
}
