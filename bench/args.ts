// Command line of the benchmark (npm run bench -- FLAGS).

export const SUITES = ['matmul', 'softmax', 'weighted', 'attention', 'layer', 'stack'] as const;
export type SuiteName = (typeof SUITES)[number];
export const PEERS = ['tfjs', 'ort', 'cpu'] as const;
export type PeerFlag = (typeof PEERS)[number];

export interface BenchArgs {
  quick: boolean;
  json: boolean;
  /** Also write the JSON array to this file (the human table still goes to stdout). */
  jsonFile: string | null;
  plot: string | null;
  /** null: the default set (every suite but stack, plus stack on a hardware adapter without --quick). */
  suites: SuiteName[] | null;
  peers: PeerFlag[];
  runs: number;
  /** null: 1 on a software adapter with --quick, else 3. */
  warmup: number | null;
  seed: number;
  /** Per peer call (warm-up and timed runs together); null: 30 s (software, quick), 180 s (software), 300 s (GPU). */
  peerTimeoutS: number | null;
  /** The matmul tile config: 'auto' times candidates once per hardware adapter (autotune.ts). */
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
  --suite NAMES       comma-separated: ${SUITES.join(', ')}, all (default: all but stack; stack too on a GPU without --quick)
  --peers LIST        comma-separated: ${PEERS.join(', ')}, or none (default: tfjs,ort,cpu)
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

function count(flag: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new ArgsError(`${flag} needs an integer ≥ ${min}, got ${v ?? 'nothing'}`);
  return n;
}

function list<T extends string>(flag: string, v: string | undefined, allowed: readonly T[], extra: string[]): T[] | string {
  if (!v) throw new ArgsError(`${flag} needs a value (${[...allowed, ...extra].join(', ')})`);
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (items.length === 1 && extra.includes(item)) return item;
    if (!allowed.includes(item as T)) throw new ArgsError(`${flag}: unknown "${item}" (one of ${[...allowed, ...extra].join(', ')})`);
  }
  return [...new Set(items)] as T[];
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = { quick: false, json: false, jsonFile: null, plot: null, suites: null, peers: [...PEERS], runs: 10, warmup: null, seed: 1, peerTimeoutS: null, tune: 'auto', measurePeak: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--quick': a.quick = true; break;
      case '--json': a.json = true; break;
      case '--help': case '-h': a.help = true; break;
      case '--tune': a.tune = true; break;
      case '--no-tune': a.tune = false; break;
      case '--measure-peak': a.measurePeak = true; break;
      case '--plot': case '--json-file': {
        const v = value();
        if (!v) throw new ArgsError(`${name} needs a file name`);
        if (name === '--plot') a.plot = v;
        else a.jsonFile = v;
        break;
      }
      case '--suite': case '--suites': {
        const v = list(name, value(), SUITES, ['all']);
        a.suites = v === 'all' ? [...SUITES] : (v as SuiteName[]);
        break;
      }
      case '--peers': {
        const v = list(name, value(), PEERS, ['none']);
        a.peers = v === 'none' ? [] : (v as PeerFlag[]);
        break;
      }
      case '--runs': a.runs = count(name, value(), 1); break;
      case '--warmup': a.warmup = count(name, value(), 0); break;
      case '--seed': a.seed = count(name, value(), 0); break;
      case '--peer-timeout': a.peerTimeoutS = count(name, value(), 1); break;
      default: throw new ArgsError(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return a;
}
