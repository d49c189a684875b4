// Bad input is refused before any GPU work, with a message naming the argument and the limit.
import { describe, expect, it } from 'vitest';
import { useEngine } from '../helpers/gpu.js';
import { resolveConfig, ConfigError } from '../../src/model/config.js';
import { planMemory } from '../../src/model/plan.js';
import { InputError, OutOfMemoryError } from '../../src/gpu/errors.js';

const engine = useEngine();
const small = { layers: 1, heads: 2, dModel: 16, dHead: 8, seq: 4 };

describe('configuration errors', () => {
  it.each([
    [{ heads: 0 }, /--heads must be a positive integer, got 0/],
    [{ dModel: -4 }, /--d-model must be a positive integer, got -4/],
    [{ dHead: 2.5 }, /--d-head must be a positive integer, got 2.5/],
    [{ layers: Number.NaN }, /--layers must be a positive integer/],
    [{ seq: 4096 }, /--seq 4096 exceeds the configured context of 2048 tokens/],
    [{ cross: true, kvSeq: 3000 }, /--kv-seq 3000 exceeds the configured context/],
    [{ cross: true, mask: true }, /cross-attention is never masked/],
    [{ block: 'full' as const }, /--block full needs --norm layernorm/],
    [{ block: 'mlp' as never }, /--block must be attention or full, got 'mlp'/],
    [{ ffn: 0 }, /--ffn must be a positive integer, got 0/],
    [{ activation: 'gelu' as never }, /activation must be gelu_new or relu, got 'gelu'/],
    [{ lnEps: 0 }, /LayerNorm epsilon must be a number in \(0, 1\), got 0/],
  ])('%o', (partial, message) => {
    expect(() => resolveConfig({ ...small, ...partial })).toThrow(ConfigError);
    expect(() => resolveConfig({ ...small, ...partial })).toThrow(message);
  });
});

describe('block defaults', () => {
  it('the MLP width follows d_model unless given; block attention, gelu_new, eps 1e-5 by default', () => {
    expect(resolveConfig(small)).toMatchObject({ block: 'attention', ffn: 64, activation: 'gelu_new', lnEps: 1e-5 });
    expect(resolveConfig({ ...small, ffn: 50 }).ffn).toBe(50);
    expect(resolveConfig({ ...small, dModel: 256, heads: 4, dHead: 64 }).ffn).toBe(1024);
    expect(resolveConfig({ ...small, block: 'full', norm: 'layernorm', activation: 'relu' })).toMatchObject({ block: 'full', activation: 'relu' });
  });
});

describe('input errors, before GPU work', () => {
  it('x of the wrong size', async () => {
    await expect(engine().run(small, { inputs: { x: new Float32Array(5), context: null } })).rejects.toThrow(
      /input x has 5 elements, expected \[4, 16\]/,
    );
  });
  it('NaN and Inf in inputs', async () => {
    const x = new Float32Array(64);
    x[9] = Number.NaN;
    await expect(engine().run(small, { inputs: { x, context: null } })).rejects.toThrow(/input x holds NaN at index 9/);
    x[9] = Number.POSITIVE_INFINITY;
    await expect(engine().run(small, { inputs: { x, context: null } })).rejects.toThrow(/input x holds Infinity at index 9/);
  });
  it('cross-attention without a context', async () => {
    await expect(engine().run({ ...small, cross: true, kvSeq: 3 }, { inputs: { x: new Float32Array(64), context: null } })).rejects.toThrow(
      /cross-attention needs a context/,
    );
  });
  it('weights of the wrong shape name the tensor and the flags', async () => {
    const good = () => new Float32Array(16 * 16);
    const weights = { kind: 'tensors' as const, layer: () => ({ q: good(), k: new Float32Array(7), v: good(), o: good() }) };
    await expect(engine().run(small, { weights })).rejects.toThrow(/layer 0: weight k_proj.weight has 7 elements, expected \[16, 16\]/);
  });
  it('LayerNorm tensors, missing or of the wrong size, are named with the layer', async () => {
    const good = () => new Float32Array(16 * 16);
    const layer = (ln: { lnGain?: Float32Array; lnBias?: Float32Array }) => ({ kind: 'tensors' as const, layer: () => ({ q: good(), k: good(), v: good(), o: good(), ...ln }) });
    const norm = { ...small, norm: 'layernorm' as const };
    await expect(engine().run(norm, { weights: layer({ lnBias: new Float32Array(16) }) })).rejects.toThrow(/layer 0: weight input_layernorm.weight is missing/);
    await expect(engine().run(norm, { weights: layer({ lnGain: new Float32Array(16), lnBias: new Float32Array(15) }) })).rejects.toThrow(
      /layer 0: weight input_layernorm.bias has 15 elements, expected \[1, 16\]/,
    );
  });
  it('an activation over the storage binding limit names the buffer and the limit', () => {
    expect(() => engine().plan({ ...small, seq: 2048, dModel: 16384, heads: 128, dHead: 128 }, { limits: { maxStorageBufferBindingSize: 64 * 1024 * 1024 } })).toThrow(
      /x \(residual stream\) \[seq, dModel\] needs 128\.0 MiB, over the adapter.s maxStorageBufferBindingSize of 64\.0 MiB|q \[seq, heads·dHead\] needs/,
    );
    expect(() => engine().plan({ ...small, seq: 8 }, { limits: { maxStorageBufferBindingSize: 100 } })).toThrow(InputError);
  });
  it('a weight over maxBufferSize, and a plan over a memory budget, list what did not fit', () => {
    const cfg = resolveConfig({ ...small, dModel: 4096, heads: 32, dHead: 128 });
    expect(() => planMemory(cfg, { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 20, minStorageBufferOffsetAlignment: 256 })).toThrow(
      /W_Q needs 64\.0 MiB, over the adapter's maxBufferSize of 1\.0 MiB/,
    );
    expect(() => planMemory(cfg, { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 32, minStorageBufferOffsetAlignment: 256 }, { memoryBytes: 2 ** 20 })).toThrow(OutOfMemoryError);
  });
  it('pattern capture beyond its budget', () => {
    expect(() => engine().plan({ ...small, layers: 96, heads: 96, seq: 64, dModel: 96 * 8, dHead: 8 }, { capturePatterns: true })).toThrow(/capturing patterns needs/);
  });
});
