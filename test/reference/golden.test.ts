// Outside oracle: cases computed in float64 by numpy from the same F32 values (test/golden/README.md, make_cases.py).
// They catch a layout, scale or mask misreading that the reference and the kernels could share. Each layer is judged
// on its own: the float64 reference, over the weights as the project's loader reads them (`--weights`), recomputes
// layer l from numpy's stored state before it, and numpy's stored state after it must lie within the one judge's
// allowance for a float64 value stored as f32 (src/verify/tolerance.ts, oracleAllowance). A missing folder fails:
// silently skipping would hide a broken checkout.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { oracleLayer } from '../helpers/oracle.js';
import { inputsFromFile, SafetensorsFile, weightsFromFile } from '../../src/node/safetensors-file.js';
import type { LayerWeights } from '../../src/reference/attention.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import type { Judgement } from '../../src/verify/tolerance.js';

interface GoldenCase {
  name: string;
  seq: number;
  dModel: number;
  heads: number;
  dHead: number;
  layers: number;
  mask: boolean;
  cross: boolean;
  contextSeq: number | null;
}

function readCases(): GoldenCase[] | Error {
  const path = join(GOLDEN_DIR, 'cases.json');
  if (!existsSync(path)) {
    return new Error(`golden cases not found: ${path} is missing (set GOLDEN_DIR to the folder holding cases.json)`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as GoldenCase[];
}

const configOf = (c: GoldenCase): AttentionConfig => resolveConfig({
  seq: c.seq, dModel: c.dModel, heads: c.heads, dHead: c.dHead, layers: c.layers,
  mask: c.mask, cross: c.cross, kvSeq: c.contextSeq ?? c.seq, bias: false,
});

/** numpy's states: the input x, then each layer's output (`layer.{l}`, the last one `y`). */
function readStates(c: GoldenCase, cfg: AttentionConfig): { states: Float32Array[]; context: Float32Array | null } {
  const input = new SafetensorsFile(join(GOLDEN_DIR, `${c.name}.input.safetensors`));
  const expected = new SafetensorsFile(join(GOLDEN_DIR, `${c.name}.expected.safetensors`));
  try {
    const { x, context } = inputsFromFile(input, cfg);
    const states = [x];
    for (let l = 0; l < c.layers; l++) states.push(expected.read(l === c.layers - 1 ? 'y' : `layer.${l}`, [c.seq, c.dModel]));
    return { states, context };
  } finally {
    input.close();
    expected.close();
  }
}

/** Every layer of case `c`, its weights read by the loader and passed through `plant` (tests of the test). */
async function judgeLayers(c: GoldenCase, plant: (w: LayerWeights, l: number) => LayerWeights = (w) => w,
  plantState: (states: Float32Array[]) => void = () => {}): Promise<Judgement[]> {
  const cfg = configOf(c);
  const { states, context } = readStates(c, cfg);
  plantState(states);
  const file = new SafetensorsFile(join(GOLDEN_DIR, `${c.name}.weights.safetensors`));
  try {
    const source = weightsFromFile(file, cfg);
    if (source.kind !== 'tensors') throw new Error('a weights file gives tensors');
    const out: Judgement[] = [];
    for (let l = 0; l < c.layers; l++) out.push(oracleLayer(cfg, plant(await source.layer(l), l), context, states[l]!, states[l + 1]!));
    return out;
  } finally {
    file.close();
  }
}

/** The worst layer's error / allowance. */
const worst = (js: Judgement[]): number => Math.max(...js.map((j) => j.worstRatio));

describe('golden cases (numpy float64)', () => {
  const cases = readCases();
  if (cases instanceof Error) {
    it('finds the golden folder', () => {
      throw cases;
    });
    return;
  }

  it('has cases', () => expect(cases.length).toBeGreaterThan(0));

  for (const c of cases) {
    it(`${c.name}: every layer of the reference, from numpy's stored state, gives numpy's next state within the oracle allowance`, async () => {
      const js = await judgeLayers(c);
      expect(js).toHaveLength(c.layers);
      js.forEach((j, l) => expect(j.passed, `layer ${l}: ${j.detail}`).toBe(true));
    });
  }

  // Guards the oracle itself: each plant must fail the comparison in some layer.
  const square = cases.find((k) => k.heads * k.dHead === k.dModel && !k.cross && k.layers > 1)!;
  const d = square.dModel;
  const plants: [string, (w: LayerWeights, l: number) => LayerWeights, ((s: Float32Array[]) => void)?][] = [
    ['W_O read as [in, out] (transposed) in the last layer', (w, l) => l < square.layers - 1 ? w : { ...w, o: Float32Array.from(w.o, (_, i) => w.o[(i % d) * d + Math.floor(i / d)]!) }],
    ['one element of W_V scaled by 1 + 1e-5 in layer 0', (w, l) => {
      if (l > 0) return w;
      const v = Float32Array.from(w.v);
      v[0] = v[0]! * (1 + 1e-5);
      return { ...w, v };
    }],
    ['heads 0 and 1 of W_Q swapped in the last layer', (w, l) => {
      if (l < square.layers - 1) return w;
      const q = Float32Array.from(w.q), dh = square.dHead;
      q.set(w.q.subarray(dh * d, 2 * dh * d), 0);
      q.set(w.q.subarray(0, dh * d), dh * d);
      return { ...w, q };
    }],
    ['numpy\'s stored layer-0 state 4 ulp off in one element', (w) => w, (s) => {
      const bits = new Uint32Array(s[1]!.buffer, s[1]!.byteOffset, s[1]!.length);
      bits[7] = bits[7]! + 4;
    }],
  ];
  it.each(plants)(`${square.name}: %s is caught`, async (_what, plant, plantState) => {
    const r = worst(await judgeLayers(square, plant, plantState));
    expect(r, `worst error ${r}× the allowance`).toBeGreaterThan(1);
  });
});
