// Attention-core suite: scores, causal softmax and weighted sums of all heads (GPT-3: 96 heads, n = 2048,
// dHead 128), q, k, v given as [seq, heads·dHead]. Ours: three passes per head group (per-stage times in
// the JSON); tfjs: matMul, add mask, softmax, matMul; ORT: MultiHeadAttention.

import { attentionPattern } from '../../src/reference/attention.js';
import { resolveConfig } from '../../src/model/config.js';
import { causalPairs, type OpCase, type OpInputs } from '../inputs.js';
import type { BenchRecord } from '../report.js';
import { runCase, type BenchContext } from './common.js';

type AttentionCase = Extract<OpCase, { op: 'attention' }>;

/** src/reference/attention.ts's pattern per head, then its weighted sums of v. */
function cpuAttention(c: AttentionCase) {
  const cfg = resolveConfig({ layers: 1, heads: c.heads, dHead: c.dHead, dModel: c.heads * c.dHead, seq: c.seq, mask: c.causal, cross: false });
  const width = c.heads * c.dHead;
  return {
    fmas: 2 * c.heads * causalPairs(c.seq, c.causal) * c.dHead,
    fn: (x: OpInputs) => {
      if (x.op !== 'attention') throw new Error('attention inputs expected');
      const q = Float64Array.from(x.q);
      const k = Float64Array.from(x.k);
      const out = new Float64Array(c.seq * width);
      for (let h = 0; h < c.heads; h++) {
        const p = attentionPattern(q, k, cfg, h);
        for (let i = 0; i < c.seq; i++) {
          for (let d = 0; d < c.dHead; d++) {
            let s = 0;
            for (let j = 0; j < c.seq; j++) s += p[i * c.seq + j]! * x.v[j * width + h * c.dHead + d]!;
            out[i * width + h * c.dHead + d] = s;
          }
        }
      }
      return out;
    },
  };
}

export async function attentionSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const { heads, seq, dHead } = ctx.scale.model;
  const c: AttentionCase = { op: 'attention', heads, seq, dHead, causal: true };
  return runCase(ctx, { suite: 'attention', name: 'core causal' }, c, cpuAttention(c));
}
