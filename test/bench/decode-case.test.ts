// The decode suite's pure parts, without a GPU: the case's inputs, bytes and shape label, the cache layout our
// kernel reads (bench/ours-decode.ts toCache), the float64 reference rows the check compares with, the f16
// allowance of its rows and the command line. A wrong cache layout or reference row fails here by name.

import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/args.js';
import { describeShape, makeInputs, opBytes, opFlops, outputElements, type OpCase } from '../../bench/inputs.js';
import { toCache } from '../../bench/ours-decode.js';
import { chooseScale } from '../../bench/scale.js';
import { roundInputs } from '../../bench/suites/f16.js';
import { allowanceAt, checkIndices, checkOutput, referenceAt } from '../../bench/verify.js';
import { attentionRow } from '../../src/reference/attention.js';

const c: Extract<OpCase, { op: 'decode' }> = { op: 'decode', heads: 3, nKv: 37, dHead: 5 };

describe('decode case', () => {
  it('inputs: one query row per head, nKv rows of k and v; bytes count the cache once; no FLOP/s', () => {
    const x = makeInputs(c, 4);
    if (x.op !== 'decode') throw new Error('decode inputs expected');
    expect([x.q.length, x.k.length, x.v.length]).toEqual([15, 37 * 15, 37 * 15]);
    expect(outputElements(c)).toBe(15);
    expect(opBytes(c)).toBe(4 * (2 * 37 + 2) * 15);
    expect(opFlops(c)).toBe(0);
    expect(describeShape(c)).toBe('3h n_kv=37 d=5');
  });

  it('toCache: row j of head h lands at (h·nKv + j)·dHead', () => {
    const rows = Float32Array.from({ length: 37 * 15 }, (_, i) => i);
    const cache = toCache(rows, 3, 37, 5);
    for (const [h, j, e] of [[0, 0, 0], [2, 36, 4], [1, 7, 3]] as const) expect(cache[(h * 37 + j) * 5 + e]).toBe(rows[j * 15 + h * 5 + e]);
    expect([...cache].sort((a, b) => a - b)).toEqual([...rows]);
  });

  it('the reference rows are each head’s one-row attention over all nKv keys, and a wrong row fails the check', () => {
    const x = makeInputs(c, 4);
    if (x.op !== 'decode') throw new Error('decode inputs expected');
    const indices = checkIndices(c, 4);
    expect(indices).toBeNull(); // small: checked in full
    const ref = referenceAt(c, x, indices);
    for (let h = 0; h < 3; h++) {
      const want = attentionRow(x.q, x.k, x.v, { kvSeq: 37, heads: 3, dHead: 5, causal: false }, 0, h);
      for (let e = 0; e < 5; e++) expect(ref[h * 5 + e]).toBeCloseTo(want[e]!, 12);
    }
    const tol = allowanceAt(c, x, null, ref);
    expect(checkOutput(c, Float32Array.from(ref), ref, null, tol).passed).toBe(true);
    // A step that missed the newest key (nKv − 1) is told apart from the right one.
    const short = Float64Array.from({ length: 15 }, (_, i) => attentionRow(x.q, x.k.subarray(0, 36 * 15), x.v.subarray(0, 36 * 15), { kvSeq: 36, heads: 3, dHead: 5, causal: false }, 0, Math.floor(i / 5))[i % 5]!);
    expect(checkOutput(c, short, ref, null, tol).passed).toBe(false);
  });

  it('f16 rows: the inputs rounded, an allowance wider than f32’s', () => {
    const x = roundInputs(makeInputs(c, 4));
    expect(x.op).toBe('decode');
    const ref = referenceAt(c, x, null);
    const [f32, f16] = [allowanceAt(c, x, null, ref, 'f32'), allowanceAt(c, x, null, ref, 'f16')];
    f32.forEach((t, i) => expect(f16[i]).toBeGreaterThan(t));
  });

  it('the suite is asked for by name (no --suite gives null, which bench/run.ts takes without decode); its shapes per adapter kind', () => {
    expect(parseArgs(['--suite', 'decode']).suites).toEqual(['decode']);
    expect(parseArgs([]).suites).toBeNull();
    expect(chooseScale(true, false).decode).toEqual({ heads: 8, dHead: 64, lengths: [512, 2048, 8192, 16384, 32768] });
    expect(chooseScale(false, false).decode).toEqual({ heads: 96, dHead: 128, lengths: [2048, 32768] });
  });
});
