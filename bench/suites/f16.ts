// The f16 rows of every suite: inputs rounded to f16 values (src/io/half.ts, round to nearest even), the
// float64 reference recomputed from exactly those rounded values, and the tolerance of f16 storage.
//
// Judged by bench/verify.ts allowanceAt in f16 mode: the inputs are the f16 values themselves, so their rounding
// costs nothing against this reference; the arithmetic is f32 (its derived error, as for the f32 rows), the output
// is stored once in f16 (one f16 ulp of it, src/verify/tolerance.ts f16Stored), and the attention core may store
// its scores and pattern in f16 (coreError with the f16 store unit). A library that accumulates in f16 (each
// partial sum rounded, error growing like √K·u16) does not meet it and is reported WRONG by it, with how far over
// its allowance the worst element is.

import { roundArrayToF16 } from '../../src/io/half.js';
import { opBytes, type OpCase, type OpInputs } from '../inputs.js';

/** The same inputs with every value rounded to the nearest f16 (−∞ stays −∞). */
export function roundInputs(x: OpInputs): OpInputs {
  switch (x.op) {
    case 'matmul':
      return { op: 'matmul', a: roundArrayToF16(x.a), b: roundArrayToF16(x.b) };
    case 'softmax':
      return { op: 'softmax', x: roundArrayToF16(x.x) };
    case 'attention':
    case 'decode':
      return { op: x.op, q: roundArrayToF16(x.q), k: roundArrayToF16(x.k), v: roundArrayToF16(x.v) } as OpInputs;
  }
}

/** Bytes for GB/s of an f16 row: every input and output stored in 2 bytes instead of 4. */
export const f16Bytes = (c: OpCase): number => opBytes(c) / 2;
