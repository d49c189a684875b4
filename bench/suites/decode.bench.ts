// Decode suite: one decode step of one layer's attention core, the new token's query row per head against
// n_kv cached keys and values (software adapter: 8 heads × 64 at n_kv 512 … 32,768; GPU: GPT-3's 96 × 128
// at 2,048 and 32,768), f32 and f16. A step reads every cached key and value once: bandwidth-bound, so the
// rows give GB/s and % of the copy probe taken right before and after our row's timing at the row's bytes
// (bench/copy-probe.ts, in bench/suites/common.ts), no FLOP/s. Ours: shaders/decode.wgsl (split over
// key blocks, merged); ORT: MultiHeadAttention with past key/value; tfjs and jax-js: their attention with a
// one-row query. Every output checked against float64 in the run.

import { attentionRow } from '../../src/reference/attention.js';
import type { OpCase, OpInputs } from '../inputs.js';
import type { BenchRecord } from '../report.js';
import { runCase, type BenchContext } from './common.js';

type DecodeCase = Extract<OpCase, { op: 'decode' }>;

/** src/reference/attention.ts's one-row attention per head (the row the decode tests check against). */
function cpuDecode(c: DecodeCase) {
  return {
    fmas: 2 * c.heads * c.nKv * c.dHead,
    fn: (x: OpInputs) => {
      if (x.op !== 'decode') throw new Error('decode inputs expected');
      const out = new Float64Array(c.heads * c.dHead);
      for (let h = 0; h < c.heads; h++) out.set(attentionRow(x.q, x.k, x.v, { kvSeq: c.nKv, heads: c.heads, dHead: c.dHead, causal: false }, 0, h), h * c.dHead);
      return out;
    },
  };
}

export async function decodeSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const { heads, dHead, lengths } = ctx.scale.decode;
  const records: BenchRecord[] = [];
  for (const nKv of lengths) {
    const c: DecodeCase = { op: 'decode', heads, nKv, dHead };
    records.push(...(await runCase(ctx, { suite: 'decode', name: 'step', size: nKv }, c, cpuDecode(c))));
  }
  return records;
}
