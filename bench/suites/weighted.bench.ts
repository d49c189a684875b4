// Weighted-sums suite: pattern·V of every head with a causal pattern (zeros above the diagonal). Ours stops
// each tile's K loop at the mask; the peers multiply the zeros too. TFLOP/s counts only the visible pairs,
// the same for all, so the ratio is the ratio of times.

import type { OpCase } from '../inputs.js';
import type { BenchRecord } from '../report.js';
import { runCase, type BenchContext } from './common.js';
import { cpuMatmul } from './matmul.bench.js';

export async function weightedSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const { heads, seq, dHead } = ctx.scale.model;
  const c: Extract<OpCase, { op: 'matmul' }> = { op: 'matmul', M: seq, N: dHead, K: seq, batch: heads, transB: false, pattern: true };
  return runCase(ctx, { suite: 'weighted', name: 'pattern·V causal' }, c, cpuMatmul(c));
}
