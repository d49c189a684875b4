// The jax-js peer either runs and verifies (against float64) on tiny products and a tiny causal attention,
// or reports "not available" with its reason: never silently absent. On this project's Node 20 matmul and
// softmax run; nn.dotProductAttention needs iterator helpers (Node ≥ 22) and must say so.

import { describe, expect, it } from 'vitest';
import { createNodeGpu } from '../../src/node/dawn.js';
import { makeInputs, type OpCase } from '../../bench/inputs.js';
import { allowanceAt, checkOutput, referenceAt } from '../../bench/verify.js';
import { explainJaxFailure, hasIteratorHelpers, loadJaxPeer } from '../../bench/peers/jax.js';
import { PeerUnavailableError } from '../../bench/peers/types.js';
import { roundInputs } from '../../bench/suites/f16.js';

const run = { warmup: 1, runs: 2 };

describe('jax-js peer', () => {
  it('runs and verifies tiny products and an attention core, or says why it is not available', async () => {
    const { peer, unavailable } = await loadJaxPeer(createNodeGpu(), 60_000);
    if (!peer) {
      // Not available is a reported outcome, with a reason that names the cause.
      expect(unavailable).toMatch(/jax-js/);
      expect(unavailable!.length).toBeGreaterThan(20);
      return;
    }
    expect(unavailable).toBeNull();
    expect(peer.adapterDescription()).toMatch(/^jax-js \S+ WebGPU/);
    try {
      const cases: OpCase[] = [
        { op: 'matmul', M: 8, N: 16, K: 24, batch: 1, transB: false, pattern: false },
        { op: 'matmul', M: 8, N: 16, K: 24, batch: 3, transB: true, pattern: false },
        { op: 'softmax', rows: 2 * 16, cols: 16, seq: 16, causal: true },
        { op: 'attention', heads: 2, seq: 16, dHead: 8, causal: true },
      ];
      const f16 = peer.adapterDescription().includes('float16 available');
      for (const c of cases) {
        for (const precision of f16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
          const x = precision === 'f16' ? roundInputs(makeInputs(c, 3)) : makeInputs(c, 3);
          const opts = { ...run, precision };
          if (c.op === 'attention' && !hasIteratorHelpers() && x.op === 'attention') {
            // jax-js's dotProductAttention needs iterator helpers: on Node < 22 a stated reason, not a crash.
            const call = peer.attention(x.q, x.k, x.v, { heads: c.heads, seq: c.seq, kvSeq: c.seq, dHead: c.dHead, causal: true }, opts);
            await expect(call).rejects.toThrow(PeerUnavailableError);
            await expect(call).rejects.toThrow(/iterator helpers.*Node ≥ 22; this is v\d+/);
            continue;
          }
          const r =
            c.op === 'matmul' && x.op === 'matmul' ? await peer.matmul(x.a, x.b, c.M, c.N, c.K, { ...opts, transB: c.transB, batch: c.batch })
            : c.op === 'softmax' && x.op === 'softmax' ? await peer.softmax!(x.x, c.rows, c.cols, opts)
            : c.op === 'attention' && x.op === 'attention' ? await peer.attention(x.q, x.k, x.v, { heads: c.heads, seq: c.seq, kvSeq: c.seq, dHead: c.dHead, causal: true }, opts)
            : undefined;
          const ref = referenceAt(c, x, null);
          // f32: the one judge's allowance. f16: jax-js computes in float16 (products and sums rounded to f16, not
          // f32 arithmetic stored once), which the bench reports WRONG by that rule with its ratio; here it must at
          // least meet the same estimate with f16's unit in place of f32's (2¹³ × the allowance).
          const tol = allowanceAt(c, x, null, ref, precision).map((t) => (precision === 'f16' ? t * 2 ** 13 : t));
          const check = checkOutput(c, r!.output, ref, null, tol);
          expect(check.passed, `${c.op} ${precision}: ${check.detail}`).toBe(true);
          expect(r!.timing.samples).toBe(run.runs);
          expect(r!.timing.medianMs).toBeGreaterThan(0);
        }
      }
      // A sampled read-back returns exactly the asked elements.
      const c = { op: 'matmul', M: 8, N: 8, K: 8, batch: 1, transB: false, pattern: false } as const;
      const x = makeInputs(c, 5);
      if (x.op !== 'matmul') throw new Error('matmul inputs expected');
      const sample = Uint32Array.from([0, 9, 63]);
      const r = await peer.matmul(x.a, x.b, 8, 8, 8, { ...run, transB: false, sample });
      const ref = referenceAt(c, x, sample);
      expect(checkOutput(c, r.output, ref, sample, allowanceAt(c, x, sample, ref)).passed).toBe(true);
    } finally {
      await peer.dispose();
    }
  });

  it('names the Node requirement when a missing built-in is the likely cause', () => {
    const e = new TypeError('map.values(...).map is not a function');
    expect(explainJaxFailure(e, 'v20.20.2', false)).toBe(
      'map.values(...).map is not a function (jax-js needs a Node with iterator helpers, Node ≥ 22; this is v20.20.2, which has none)',
    );
    // With iterator helpers present, or for an unrelated failure, the message stays as it was.
    expect(explainJaxFailure(e, 'v22.1.0', true)).toBe('map.values(...).map is not a function');
    expect(explainJaxFailure(new Error('no adapter'), 'v20.20.2', false)).toBe('no adapter');
  });
});
