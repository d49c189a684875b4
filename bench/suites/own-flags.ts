// Benchmark flags that bench/run.ts reads itself, before bench/args.ts's parseArgs (which does not know them
// yet): `jax` in --peers and --precision. Moving them into args.ts (PEERS, BenchArgs) would retire this file.

import { ArgsError } from '../args.js';
import type { PeerPrecision } from '../peers/types.js';

export const EXTRA_USAGE = `  --peers jax         jax-js (@jax-js/jax) on WebGPU is a peer too: in the default set, or listed (tfjs,ort,jax,cpu)
  --precision LIST    comma-separated: f32, f16 (default f32,f16): the f16 rows store inputs and outputs as f16`;

export interface OwnFlags {
  /** The arguments for bench/args.ts's parseArgs, without what this file reads itself. */
  argv: string[];
  jax: boolean;
  precisions: PeerPrecision[];
}

/**
 * The flags read here until bench/args.ts knows them: `jax` in --peers (in the default set, so a plain run has
 * it; `--peers none` or a list without it leaves it out) and --precision. Throws ArgsError like parseArgs.
 */
export function ownFlags(argv: readonly string[]): OwnFlags {
  const out: string[] = [];
  let jax = true;
  let precisions: PeerPrecision[] = ['f32', 'f16'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--(peers|precision)(?:=(.*))?$/.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new ArgsError(`--${m[1]} needs a value`);
    const items = value.split(',').map((v) => v.trim()).filter(Boolean);
    if (m[1] === 'precision') {
      const bad = items.find((v) => v !== 'f32' && v !== 'f16');
      if (bad !== undefined || items.length === 0) throw new ArgsError(`--precision: ${bad === undefined ? 'needs f32, f16 or f32,f16' : `unknown "${bad}" (f32, f16)`}`);
      precisions = (['f32', 'f16'] as const).filter((p) => items.includes(p));
      continue;
    }
    jax = items.includes('jax');
    const rest = items.filter((v) => v !== 'jax');
    out.push('--peers', rest.length ? rest.join(',') : 'none');
  }
  return { argv: out, jax, precisions };
}
