// The bench side of the f16 rows and the third peer, without a GPU: their flags, the
// f16 storage tolerance (one f16 rounding of an f32 result passes; an f16-accumulated product does not),
// rounded inputs, and ratios only between rows of one precision.

import { describe, expect, it } from 'vitest';
import { makeInputs, type OpCase } from '../../bench/inputs.js';
import { addSpeedups, failedRecord, formatNotes, makeRecord, type Impl, type Measurement } from '../../bench/report.js';
import { f16Bytes, roundInputs } from '../../bench/suites/f16.js';
import { allowanceAt, checkOutput, referenceAt } from '../../bench/verify.js';
import { ArgsError, parseArgs } from '../../bench/args.js';
import { roundToF16 } from '../../src/io/half.js';

describe('the third peer and the precisions on the command line', () => {
  it('jax is in the default peer set, and listed or left out like the others', () => {
    expect(parseArgs([])).toMatchObject({ peers: ['tfjs', 'ort', 'jax', 'cpu'], precisions: ['f32', 'f16'] });
    expect(parseArgs(['--quick', '--peers', 'tfjs,jax']).peers).toEqual(['tfjs', 'jax']);
    expect(parseArgs(['--peers=jax']).peers).toEqual(['jax']);
    expect(parseArgs(['--peers', 'none']).peers).toEqual([]);
    expect(parseArgs(['--peers', 'ort,cpu']).peers).toEqual(['ort', 'cpu']);
  });
  it('--precision', () => {
    expect(parseArgs(['--precision', 'f16']).precisions).toEqual(['f16']);
    expect(parseArgs(['--precision=f16,f32', '--quick'])).toMatchObject({ quick: true, precisions: ['f32', 'f16'] });
    expect(() => parseArgs(['--precision', 'bf16'])).toThrow(ArgsError);
    expect(() => parseArgs(['--precision'])).toThrow(ArgsError);
  });
});

describe('f16 rows', () => {
  const mm: OpCase = { op: 'matmul', M: 16, N: 16, K: 512, batch: 1, transB: false, pattern: false };

  it('inputs are rounded to f16 values, −∞ kept', () => {
    const x = roundInputs(makeInputs({ op: 'softmax', rows: 8, cols: 8, seq: 8, causal: true }, 1));
    if (x.op !== 'softmax') throw new Error('softmax inputs expected');
    expect(x.x[1]).toBe(-Infinity); // row 0 sees column 0 only
    for (const v of x.x) if (Number.isFinite(v)) expect(roundToF16(v)).toBe(v);
    expect(f16Bytes(mm)).toBe(2 * (16 * 512 + 512 * 16 + 16 * 16));
  });

  it('the allowance: the f32 rows\' plus one f16 rounding of the output', () => {
    const x = roundInputs(makeInputs(mm, 1));
    const ref = referenceAt(mm, x, null);
    const [f32, f16] = [allowanceAt(mm, x, null, ref, 'f32'), allowanceAt(mm, x, null, ref, 'f16')];
    f32.forEach((t, i) => expect(f16[i]).toBeGreaterThan(t + Math.abs(ref[i]!) * 2 ** -11));
  });

  it('an f32-accumulated product rounded once to f16 passes; an f16-accumulated one does not', () => {
    const x = roundInputs(makeInputs(mm, 2));
    if (x.op !== 'matmul') throw new Error('matmul inputs expected');
    const ref = referenceAt(mm, x, null);
    const tol = allowanceAt(mm, x, null, ref, 'f16');
    // f32 accumulation, f16 output.
    const once = Float32Array.from(ref, (r) => roundToF16(Math.fround(r)));
    expect(checkOutput(mm, once, ref, null, tol).passed).toBe(true);
    // Every partial sum rounded to f16 (what a kernel with an f16 accumulator does) over K = 512.
    const f16acc = new Float32Array(mm.M * mm.N);
    for (let i = 0; i < mm.M; i++) {
      for (let j = 0; j < mm.N; j++) {
        let acc = 0;
        for (let k = 0; k < mm.K; k++) acc = roundToF16(acc + roundToF16(x.a[i * mm.K + k]! * x.b[k * mm.N + j]!));
        f16acc[i * mm.N + j] = acc;
      }
    }
    expect(checkOutput(mm, f16acc, ref, null, tol).passed).toBe(false);
  });

  it('the attention allowance in f16 rows grows for f16-stored scores and pattern', () => {
    const c: OpCase = { op: 'attention', heads: 2, seq: 16, dHead: 8, causal: true };
    const x = roundInputs(makeInputs(c, 1));
    const ref = referenceAt(c, x, null);
    const [f32, f16] = [allowanceAt(c, x, null, ref, 'f32'), allowanceAt(c, x, null, ref, 'f16')];
    f32.forEach((t, i) => expect(f16[i]).toBeGreaterThan(4 * t));
  });
});

describe('report with fp16 rows and jax-js', () => {
  const meas = (impl: Impl, precision?: 'f16'): Measurement => ({
    suite: 'matmul', name: 'square 256', shape: '[256×256]·[256×256]', impl, adapter: 'test', flops: 2 * 256 ** 3, bytes: 12 * 256 * 256,
    ...(precision ? { precision } : {}),
  });
  const ok = { passed: true, maxRelError: 1e-6, what: 'all 65536' };
  const stats = (medianMs: number) => ({ medianMs, minMs: medianMs, maxMs: medianMs, samples: 10 });

  it('compares each of our rows with the peers of its precision, the CPU reference only with fp32', () => {
    const records = [
      makeRecord(meas('webgpu-attention'), 'timestamp-query', stats(1), ok, null),
      makeRecord(meas('jax-js-webgpu'), 'wall-clock-drained', stats(3), ok, null),
      makeRecord(meas('cpu-reference'), 'cpu', stats(10), ok, null),
      makeRecord(meas('webgpu-attention', 'f16'), 'timestamp-query', stats(0.5), ok, null),
      makeRecord(meas('jax-js-webgpu', 'f16'), 'wall-clock-drained', stats(2), ok, null),
      failedRecord(meas('tfjs-webgpu', 'f16'), 'not available', 'no float16', 'wall-clock-drained'),
    ];
    addSpeedups(records);
    expect(records[0]!.speedups).toEqual({ 'jax-js-webgpu': 3, 'cpu-reference': 10 });
    expect(records[3]!.speedups).toEqual({ 'jax-js-webgpu': 4, 'tfjs-webgpu': 'not available' });
    expect(records.map((r) => r.precision)).toEqual(['f32', 'f32', 'f64', 'f16', 'f16', 'f16']);
    expect(formatNotes(records, 'test', null)).toMatch(/f16 rows: inputs rounded to f16/);
  });

  it('ours not available in f16 gets no ratios', () => {
    const records = [
      failedRecord(meas('webgpu-attention', 'f16'), 'not available', 'no f16 kernels', 'timestamp-query'),
      makeRecord(meas('jax-js-webgpu', 'f16'), 'wall-clock-drained', stats(2), ok, null),
    ];
    addSpeedups(records);
    expect(records[0]!.speedups).toBeUndefined();
  });
});
