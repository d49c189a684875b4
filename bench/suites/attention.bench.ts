// Attention-core suite: scores, causal softmax and weighted sums of all heads (GPT-3: 96 heads, n = 2048,
// dHead 128), q, k, v given as [seq, heads·dHead]. Ours twice: three passes per head group (per-stage times
// in the JSON) and the fused kernel ('core causal, fused'); tfjs: matMul, add mask, softmax, matMul;
// ORT: MultiHeadAttention.

import { attentionCore } from '../../src/reference/attention.js';
import { causalPairs, type OpCase, type OpInputs } from '../inputs.js';
import type { BenchRecord } from '../report.js';
import { runCase, type BenchContext } from './common.js';

type AttentionCase = Extract<OpCase, { op: 'attention' }>;

/** src/reference/attention.ts's attention core (the one the tests check the kernels against). */
function cpuAttention(c: AttentionCase) {
  return {
    fmas: 2 * c.heads * causalPairs(c.seq, c.causal) * c.dHead,
    fn: (x: OpInputs) => {
      if (x.op !== 'attention') throw new Error('attention inputs expected');
      return attentionCore(x.q, x.k, x.v, { seq: c.seq, kvSeq: c.seq, heads: c.heads, dHead: c.dHead, causal: c.causal });
    },
  };
}

export async function attentionSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const { heads, seq, dHead } = ctx.scale.model;
  const c: AttentionCase = { op: 'attention', heads, seq, dHead, causal: true };
  return runCase(ctx, { suite: 'attention', name: 'core causal' }, c, cpuAttention(c));
}
