// Complete layer sets: a weights file is layers 0 … L−1, each with q, k, v and o (biases and
// LayerNorm in every layer or none); a missing or misnamed tensor is refused naming the layer
// and what it lacks; tensors the stack does not use are reported, not refused.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ignoredTensorsNote, layerSet, layersUsedNote } from '../../src/io/layer-set.js';
import { SafetensorsError, layerNormName, serializeSafetensors, weightName } from '../../src/io/safetensors.js';
import { resolveConfig } from '../../src/model/config.js';
import {
  inputFileNotes, SafetensorsFile, weightFileNotes, weightFileShape, weightsFromFile,
} from '../../src/node/safetensors-file.js';

const PROJ = ['q', 'k', 'v', 'o'] as const;
const names = (layers: number[], opts: { bias?: number[]; ln?: number[] } = {}): string[] => {
  const out: string[] = [];
  for (const l of layers) {
    for (const p of PROJ) out.push(weightName(l, p));
    if (opts.bias?.includes(l)) for (const p of PROJ) out.push(weightName(l, p, 'bias'));
    if (opts.ln?.includes(l)) out.push(layerNormName(l, 'weight'), layerNormName(l, 'bias'));
  }
  return out;
};

function refusal(f: () => unknown, message: RegExp): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).rule).toBe('layer-set');
    expect((e as Error).message).toMatch(message);
    expect((e as Error).message).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    return e as SafetensorsError;
  }
  throw new Error('accepted');
}

describe('layerSet', () => {
  it('a complete set: layers, biases and LayerNorm found, nothing ignored', () => {
    expect(layerSet(names([0, 1, 2]), 'w')).toEqual({ layers: 3, bias: false, layerNorm: false, ignored: [] });
    expect(layerSet(names([0, 1], { bias: [0, 1], ln: [0, 1] }), 'w')).toEqual({ layers: 2, bias: true, layerNorm: true, ignored: [] });
    expect(layerSet([...names([1, 0])].reverse(), 'w').layers).toBe(2); // any order
  });
  it('a renamed tensor in layer 1: refused, naming what is missing and what is there', () => {
    const n = names([0, 1, 2]).map((x) => (x === weightName(1, 'q') ? 'layers.1.self_attn.Q_proj.weight' : x));
    refusal(() => layerSet(n, 'w.st'), /^w\.st: layer 1 lacks self_attn\.q_proj\.weight \(it has 'layers\.1\.self_attn\.Q_proj\.weight'\); found layers 0–2$/);
    const m = names([0, 1]).filter((x) => x !== weightName(1, 'k') && x !== weightName(1, 'o'));
    refusal(() => layerSet(m, 'w.st'), /layer 1 lacks self_attn\.k_proj\.weight and self_attn\.o_proj\.weight; found layers 0–1/);
  });
  it('a gap: layers 0 and 2 without 1, or no layer 0', () => {
    refusal(() => layerSet(names([0, 2]), 'w.st'), /layer 1 lacks self_attn\.q_proj\.weight \(layers are numbered from 0 with no gap\); found layers 0, 2$/);
    refusal(() => layerSet(names([1, 2]), 'w.st'), /layer 0 lacks .*; found layers 1–2/);
    refusal(() => layerSet([...names([0]), 'layers.99999999999999999999.self_attn.q_proj.weight'], 'w.st'), /layer 1 lacks .*found layers 0, 99999999999999999999/);
    // Only one tensor of layer 1, of a kind the stack does not use, still makes layer 1 a layer.
    refusal(() => layerSet([...names([0]), 'layers.1.mlp.fc1.weight'], 'w.st'), /layer 1 lacks self_attn\.q_proj\.weight, self_attn\.k_proj\.weight, self_attn\.v_proj\.weight and self_attn\.o_proj\.weight \(it has 'layers\.1\.mlp\.fc1\.weight'\)/);
  });
  it('no layers at all', () => {
    refusal(() => layerSet(['x', 'context'], 'in.st'), /no layer tensors .*it has 2 tensors, e\.g\. 'x', 'context'/);
    refusal(() => layerSet([], 'e.st'), /it has no tensors/);
  });
  it('biases: four or none in a layer, every layer or none', () => {
    const partial = [...names([0, 1], { bias: [1] }), weightName(0, 'q', 'bias'), weightName(0, 'v', 'bias')];
    refusal(() => layerSet(partial, 'w'), /layer 0 has self_attn\.q_proj\.bias and self_attn\.v_proj\.bias but lacks self_attn\.k_proj\.bias and self_attn\.o_proj\.bias/);
    refusal(() => layerSet(names([0, 1, 2], { bias: [0, 1] }), 'w'), /layer 2 lacks the biases that layer 0 has .*every layer has them or none does/);
    refusal(() => layerSet(names([0, 1], { bias: [1] }), 'w'), /layer 0 lacks the biases that layer 1 has/);
  });
  it('LayerNorm: weight and bias, every layer or none', () => {
    refusal(() => layerSet([...names([0]), layerNormName(0, 'weight')], 'w'), /layer 0 has input_layernorm\.weight but lacks input_layernorm\.bias/);
    refusal(() => layerSet(names([0, 1], { ln: [0] }), 'w'), /layer 1 lacks the input_layernorm weight and bias that layer 0 has/);
  });
  it('tensors outside the set are ignored, not refused, in the file\'s order', () => {
    const n = ['model.embed_tokens.weight', ...names([0, 1]), 'layers.0.mlp.fc1.weight', 'layers.01.self_attn.q_proj.weight', 'layers.1.self_attn.q_proj.weight.extra', 'lm_head.weight'];
    expect(layerSet(n, 'w')).toEqual({
      layers: 2, bias: false, layerNorm: false,
      ignored: ['model.embed_tokens.weight', 'layers.0.mlp.fc1.weight', 'layers.01.self_attn.q_proj.weight', 'layers.1.self_attn.q_proj.weight.extra', 'lm_head.weight'],
    });
  });
  it('notes: ignored tensors (escaped) and layers left out', () => {
    expect(ignoredTensorsNote('w.st', [])).toBeNull();
    expect(ignoredTensorsNote('w.st', ['layers.0.mlp.fc1.weight'])).toBe("w.st: ignored 1 tensor the run does not use, e.g. 'layers.0.mlp.fc1.weight'");
    const many = Array.from({ length: 48 }, (_, i) => `layers.${i}.mlp.fc1.weight`);
    expect(ignoredTensorsNote('w.st', many)).toBe("w.st: ignored 48 tensors the run does not use, e.g. 'layers.0.mlp.fc1.weight', 'layers.1.mlp.fc1.weight', …");
    expect(ignoredTensorsNote('w\n.st', ['\u001b[2Kverification passed\n'])).toBe("w\\n.st: ignored 1 tensor the run does not use, e.g. '\\x1b[2Kverification passed\\n'");
    expect(layersUsedNote('w.st', 4, 4)).toBeNull();
    expect(layersUsedNote('w.st', 2, 4)).toBe('w.st: using layers 0–1 of its 4 (--layers 2); layers 2–3 are not run');
    expect(layersUsedNote('w.st', 1, 2)).toBe('w.st: using layer 0 of its 2 (--layers 1); layer 1 is not run');
  });
});

describe('weights files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-layers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const D = 8, INNER = 4;
  const value = (n: number, base: number) => Float32Array.from({ length: n }, (_, i) => base + i / 64);
  function write(name: string, layers: number, opts: { bias?: boolean; ln?: boolean; extra?: string[] } = {}): SafetensorsFile {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (let l = 0; l < layers; l++) {
      for (const p of PROJ) {
        const shape = p === 'o' ? [D, INNER] : [INNER, D];
        tensors[weightName(l, p)] = { shape, data: value(D * INNER, l) };
        if (opts.bias) tensors[weightName(l, p, 'bias')] = { shape: [shape[0]!], data: value(shape[0]!, -l) };
      }
      if (opts.ln) {
        tensors[layerNormName(l, 'weight')] = { shape: [D], data: value(D, 1 + l) };
        tensors[layerNormName(l, 'bias')] = { shape: [D], data: value(D, -1 - l) };
      }
    }
    for (const e of opts.extra ?? []) tensors[e] = { shape: [2], data: value(2, 0) };
    const path = join(dir, name);
    writeFileSync(path, serializeSafetensors(tensors));
    return new SafetensorsFile(path);
  }
  const cfg = (layers: number, extra: object = {}) => resolveConfig({ layers, heads: 2, dHead: 2, dModel: D, seq: 3, ...extra });

  it('weightFileShape: layers, widths, biases, LayerNorm and the ignored tensors', () => {
    const f = write('full.safetensors', 3, { bias: true, ln: true, extra: ['layers.0.mlp.fc1.weight', 'lm_head.weight'] });
    expect(weightFileShape(f)).toEqual({ layers: 3, dModel: D, inner: INNER, bias: true, layerNorm: true, ignored: ['layers.0.mlp.fc1.weight', 'lm_head.weight'] });
    f.close();
  });
  it('--layers smaller than the file: the first layers are used, and the notes say so', async () => {
    const f = write('four.safetensors', 4, { ln: true, extra: ['layers.2.mlp.fc1.weight'] });
    const c = cfg(2);
    const notes = weightFileNotes(f, c);
    expect(notes).toEqual([
      `${f.path}: using layers 0–1 of its 4 (--layers 2); layers 2–3 are not run`,
      `${f.path}: its input_layernorm tensors are not used (the run has no LayerNorm)`,
      `${f.path}: ignored 1 tensor the run does not use, e.g. 'layers.2.mlp.fc1.weight'`,
    ]);
    const source = weightsFromFile(f, c);
    if (source.kind !== 'tensors') throw new Error('tensors');
    const l1 = await source.layer(1);
    expect(l1.q[0]).toBe(1);
    expect(l1.lnGain).toBeUndefined();
    expect(weightFileNotes(f, cfg(4, { norm: 'layernorm' }))).toEqual([`${f.path}: ignored 1 tensor the run does not use, e.g. 'layers.2.mlp.fc1.weight'`]);
    f.close();
  });
  it('weightsFromFile reads input_layernorm weight and bias for norm layernorm', async () => {
    const f = write('ln.safetensors', 2, { ln: true });
    const source = weightsFromFile(f, cfg(2, { norm: 'layernorm' }));
    if (source.kind !== 'tensors') throw new Error('tensors');
    const l1 = await source.layer(1);
    expect(Array.from(l1.lnGain!)).toEqual(Array.from(value(D, 2)));
    expect(Array.from(l1.lnBias!)).toEqual(Array.from(value(D, -2)));
    f.close();
    const g = write('no-ln.safetensors', 2);
    expect(() => weightsFromFile(g, cfg(2, { norm: 'layernorm' }))).toThrow(/no tensor 'layers\.0\.input_layernorm\.weight'/);
    g.close();
  });
  it('weightsFromFile refuses an incomplete set and more layers than the file holds', () => {
    const f = write('two.safetensors', 2);
    expect(() => weightsFromFile(f, cfg(3))).toThrow(/the run needs 3 layers but the file holds 2/);
    f.close();
    const path = join(dir, 'gap.safetensors');
    const t = (n: number) => ({ shape: n === 3 ? [D, INNER] : [INNER, D], data: value(D * INNER, 0) });
    writeFileSync(path, serializeSafetensors(Object.fromEntries([0, 2].flatMap((l) => PROJ.map((p, i) => [weightName(l, p), t(i)])))));
    const g = new SafetensorsFile(path);
    expect(() => weightsFromFile(g, cfg(1))).toThrow(/layer 1 lacks .*found layers 0, 2/);
    expect(() => weightFileShape(g)).toThrow(/layer 1 lacks/);
    g.close();
  });
  it('inputs files: tensors other than x (and context with --cross) are noted', () => {
    const path = join(dir, 'in.safetensors');
    writeFileSync(path, serializeSafetensors({ x: { shape: [3, D], data: value(3 * D, 0) }, context: { shape: [2, D], data: value(2 * D, 0) } }));
    const f = new SafetensorsFile(path);
    expect(inputFileNotes(f, cfg(1))).toEqual([`${path}: ignored 1 tensor the run does not use, e.g. 'context'`]);
    expect(inputFileNotes(f, cfg(1, { cross: true, kvSeq: 2 }))).toEqual([]);
    f.close();
  });
  it('the golden cases are complete layer sets, read whole', () => {
    const golden = join(import.meta.dirname, '..', 'golden');
    const files = readdirSync(golden).filter((n) => n.endsWith('.safetensors'));
    expect(files.length).toBe(9);
    for (const n of files) {
      const f = new SafetensorsFile(join(golden, n));
      if (n.endsWith('.weights.safetensors')) {
        const w = weightFileShape(f);
        expect(w.ignored).toEqual([]);
        expect(w.bias || w.layerNorm).toBe(false);
      }
      f.close();
    }
  });
});
