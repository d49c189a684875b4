// Matmul suite: square n×n·n×n products (the plot's series), then the products of one GPT-3 attention
// layer: a projection x·Wᵀ, the per-head scores Q·Kᵀ (96 heads batched) and the per-head pattern·V
// (dense here; the causal version is the weighted suite).

import { matmul as refMatmul, matmulTransB as refMatmulTransB } from '../../src/reference/attention.js';
import type { OpCase, OpInputs } from '../inputs.js';
import type { BenchRecord } from '../report.js';
import { runCase, type BenchContext } from './common.js';

type MatmulCase = Extract<OpCase, { op: 'matmul' }>;

/** The float64 reference of src/reference/attention.ts, batch by batch. */
export function cpuMatmul(c: MatmulCase): { fmas: number; fn: (x: OpInputs) => Float64Array } {
  return {
    fmas: c.batch * c.M * c.N * c.K,
    fn: (x) => {
      if (x.op !== 'matmul') throw new Error('matmul inputs expected');
      const out = new Float64Array(c.batch * c.M * c.N);
      for (let b = 0; b < c.batch; b++) {
        const a = x.a.subarray(b * c.M * c.K, (b + 1) * c.M * c.K);
        const bb = x.b.subarray(b * c.K * c.N, (b + 1) * c.K * c.N);
        out.set(c.transB ? refMatmulTransB(a, bb, c.M, c.N, c.K) : refMatmul(a, bb, c.M, c.N, c.K), b * c.M * c.N);
      }
      return out;
    },
  };
}

export async function matmulSuite(ctx: BenchContext): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  const run = async (name: string, c: MatmulCase, size?: number) =>
    records.push(...(await runCase(ctx, { suite: 'matmul', name, size }, c, cpuMatmul(c))));
  for (const n of ctx.scale.squares) await run(`square ${n}`, { op: 'matmul', M: n, N: n, K: n, batch: 1, transB: false, pattern: false }, n);
  const { heads, seq, dHead, dModel } = ctx.scale.model;
  await run('projection x·Wᵀ', { op: 'matmul', M: seq, N: dModel, K: dModel, batch: 1, transB: true, pattern: false });
  await run('scores Q·Kᵀ per head', { op: 'matmul', M: seq, N: seq, K: dHead, batch: heads, transB: true, pattern: false });
  await run('pattern·V per head', { op: 'matmul', M: seq, N: dHead, K: seq, batch: heads, transB: false, pattern: false });
  return records;
}
