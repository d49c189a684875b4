// Outside oracle: cases computed in float64 by numpy from the same F32 values (see the
// golden README). They catch a layout, scale or mask misreading that the reference and the
// kernels could share. A missing folder fails: silently skipping would hide a broken checkout.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { getF32, parseSafetensorsHeader, weightName } from '../../src/io/safetensors.js';
import { attentionStack, type LayerWeights } from '../../src/reference/attention.js';
import { resolveConfig, type AttentionConfig } from '../../src/model/config.js';
import { compare, describeComparison } from '../../src/verify/compare.js';

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

/** Expected values are float64 rounded to F32 (relative 6e-8); ours read the same F32 inputs. */
const GOLDEN_TOLERANCE = { atol: 1e-6, rtol: 1e-5 };

function load(file: string) {
  const path = join(GOLDEN_DIR, file);
  const bytes = new Uint8Array(readFileSync(path));
  return { bytes, parsed: parseSafetensorsHeader(bytes, path), path };
}

function readCases(): GoldenCase[] | Error {
  const path = join(GOLDEN_DIR, 'cases.json');
  if (!existsSync(path)) {
    return new Error(`golden cases not found: ${path} is missing (set GOLDEN_DIR to the folder holding cases.json)`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as GoldenCase[];
}

function run(c: GoldenCase) {
  const cfg: AttentionConfig = resolveConfig({
    seq: c.seq, dModel: c.dModel, heads: c.heads, dHead: c.dHead, layers: c.layers,
    mask: c.mask, cross: c.cross, kvSeq: c.contextSeq ?? c.seq, bias: false,
  });
  const width = c.heads * c.dHead;
  const w = load(`${c.name}.weights.safetensors`);
  const weights: LayerWeights[] = [];
  for (let l = 0; l < c.layers; l++) {
    const get = (p: 'q' | 'k' | 'v' | 'o') =>
      getF32(w.bytes, w.parsed, weightName(l, p), p === 'o' ? [c.dModel, width] : [width, c.dModel], w.path);
    weights.push({ q: get('q'), k: get('k'), v: get('v'), o: get('o') });
  }
  const inp = load(`${c.name}.input.safetensors`);
  const x = getF32(inp.bytes, inp.parsed, 'x', [c.seq, c.dModel], inp.path);
  const context = c.cross ? getF32(inp.bytes, inp.parsed, 'context', [cfg.kvSeq, c.dModel], inp.path) : null;
  const exp = load(`${c.name}.expected.safetensors`);
  const expected = getF32(exp.bytes, exp.parsed, 'y', [c.seq, c.dModel], exp.path);
  return { y: attentionStack(x, context, (l) => weights[l]!, cfg), expected };
}

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
    it(`${c.name}: reference matches within 1e-5 relative`, () => {
      const { y, expected } = run(c);
      const cmp = compare(y, expected, GOLDEN_TOLERANCE);
      expect(cmp.passed, describeComparison(cmp, y, expected)).toBe(true);
      expect(cmp.maxRelError).toBeLessThanOrEqual(1e-5);
    });
  }

  it('a transposed weight layout would be caught', () => {
    // Guards the oracle itself: reading W_Q as [in, out] must fail the comparison.
    const c = cases.find((k) => k.heads * k.dHead === k.dModel && !k.cross);
    expect(c, 'a square self-attention case').toBeDefined();
    if (!c) return;
    const { expected } = run(c);
    const w = load(`${c.name}.weights.safetensors`);
    const d = c.dModel;
    const t = (a: Float32Array) => Float32Array.from(a, (_, i) => a[(i % d) * d + Math.floor(i / d)]!);
    const get = (l: number, p: 'q' | 'k' | 'v' | 'o') => getF32(w.bytes, w.parsed, weightName(l, p), [d, d]);
    const cfg = resolveConfig({ seq: c.seq, dModel: d, heads: c.heads, dHead: c.dHead, layers: c.layers, mask: c.mask });
    const inp = load(`${c.name}.input.safetensors`);
    const x = getF32(inp.bytes, inp.parsed, 'x');
    const y = attentionStack(x, null, (l) => ({ q: get(l, 'q'), k: get(l, 'k'), v: get(l, 'v'), o: t(get(l, 'o')) }), cfg);
    expect(compare(y, expected, GOLDEN_TOLERANCE).passed).toBe(false);
  });
});
