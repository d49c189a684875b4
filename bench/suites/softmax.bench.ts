// Softmax suite: the causal row softmax of all heads' scores, [heads·seq, seq] (GPT-3: 96·2048 × 2048).
// Peers get −∞ at the masked scores (their softmax has no mask); ours never reads them.

import { softmaxRows } from '../../src/reference/attention.js';
import type { OpCase } from '../inputs.js';
import type { BenchRecord } from '../report.js';
import { runCase, type BenchContext } from './common.js';

export async function softmaxSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const { heads, seq } = ctx.scale.model;
  const c: Extract<OpCase, { op: 'softmax' }> = { op: 'softmax', rows: heads * seq, cols: seq, seq, causal: true };
  return runCase(ctx, { suite: 'softmax', name: 'causal rows' }, c, {
    fmas: 3 * c.rows * c.cols,
    fn: (x) => {
      if (x.op !== 'softmax') throw new Error('softmax inputs expected');
      return softmaxRows(Float64Array.from(x.x), c.rows, c.cols, { causal: true, queryRowsPerBlock: seq });
    },
  });
}
