// The memory plan per precision, without a GPU: f16 halves every buffer but the f32 residual stream
// (and LayerNorm's f32 gain and bias), and binds twice as many weight rows or heads per binding.
import { describe, expect, it } from 'vitest';
import { GPT3, resolveConfig } from '../../src/model/config.js';
import { planMemory } from '../../src/model/plan.js';

const limits = { maxStorageBufferBindingSize: 128 << 20, maxBufferSize: 4 * 2 ** 30, minStorageBufferOffsetAlignment: 256 };

describe('planMemory per precision', () => {
  it('GPT-3: f16 halves the peak but for x [seq, d_model] and the LayerNorm parameters', () => {
    const f32 = planMemory(GPT3, limits, { attention: 'fused' });
    const f16 = planMemory({ ...GPT3, precision: 'f16' }, limits, { attention: 'fused' });
    const x = GPT3.seq * GPT3.dModel * 4;
    const ln = 2 * GPT3.dModel * 4;
    expect(f16.peakBytes).toBe((f32.peakBytes - x - ln) / 2 + x + ln);
    // Twice the rows of a 576 MiB matrix fit a 128 MiB binding in f16.
    expect(f16.qkvChunkRows).toBeGreaterThanOrEqual(2 * f32.qkvChunkRows);
  });
  it('the materialized pattern: twice the heads per group in f16', () => {
    const cfg = resolveConfig({ layers: 1, heads: 96, dModel: 768, dHead: 8, seq: 2048 });
    const f32 = planMemory(cfg, limits, { attention: 'materialized' });
    const f16 = planMemory({ ...cfg, precision: 'f16' }, limits, { attention: 'materialized' });
    expect(f32.headGroup).toBe(8);
    expect(f16.headGroup).toBe(16);
  });
});

describe('planMemory counts the MLP and a model\'s tables', () => {
  it('block full adds LN2(x), the hidden [seq, ffn], fc1, fc2, their biases and LN2 (f32), and binds fc1/fc2 in row chunks', () => {
    // GPT-3's widths at 512 tokens: the hidden [512, 49152] is 96 MiB in f32, within one binding.
    const gpt3 = { ...GPT3, seq: 512, kvSeq: 512 };
    for (const precision of ['f32', 'f16'] as const) {
      const B = precision === 'f16' ? 2 : 4;
      const a = planMemory({ ...gpt3, precision }, limits, { attention: 'fused' });
      const full = planMemory({ ...gpt3, precision, block: 'full' }, limits, { attention: 'fused' });
      const { seq, dModel: D, ffn: F } = gpt3;
      expect(full.peakBytes - a.peakBytes).toBe(B * (seq * D + seq * F + 2 * F * D + F + D) + 4 * 2 * D);
      // fc1 [49152, 12288] is 2.25 GiB in f32: bound 2730 rows at a time under a 128 MiB binding.
      expect(full.fc1ChunkRows * D * B).toBeLessThanOrEqual(limits.maxStorageBufferBindingSize);
      expect(full.fc1ChunkRows).toBeLessThan(F);
      expect(full.fc2ChunkRows * F * B).toBeLessThanOrEqual(limits.maxStorageBufferBindingSize);
    }
    // At 2048 tokens the f32 hidden (384 MiB) exceeds the binding: computed 682 tokens at a time.
    const long = planMemory({ ...GPT3, block: 'full' }, limits, { attention: 'fused' });
    expect(long.mlpRows).toBe(682);
    expect(long.buffers.find((b) => b.name.startsWith('MLP hidden'))).toMatchObject({ name: 'MLP hidden act(LN2(x)·fc1ᵀ + b1) [682 tokens, ffn]', elements: 682 * 49152 });
    expect(planMemory({ ...GPT3, block: 'full', precision: 'f16' }, limits, { attention: 'fused' }).mlpRows).toBe(1365);
    // Kept for verification (keepLayerInput): the layer's input, x after the attention and every block of the hidden.
    const kept = planMemory({ ...GPT3, block: 'full' }, limits, { attention: 'fused', keepLayerInput: true });
    expect(kept.peakBytes - long.peakBytes).toBe(4 * (2 * 2048 * 12288 + 2048 * 49152));
    expect(kept.buffers.map((b) => b.name)).toContain('every block of the MLP hidden, kept for verification [seq, ffn]');
    // An odd f16 width cannot be copied a block at a time (4-byte copies): only the last block is kept, and counted.
    const odd = { ...GPT3, block: 'full' as const, precision: 'f16' as const, ffn: 49151 };
    expect(planMemory(odd, limits, { attention: 'fused', keepLayerInput: true }).buffers.map((b) => b.name)).not.toContain('every block of the MLP hidden, kept for verification [seq, ffn]');
  });
  it('a model adds its tables, once for a tied unembedding; GPT-2 small\'s token table is bound in chunks', () => {
    const cfg = resolveConfig({ layers: 12, heads: 12, dModel: 768, dHead: 64, seq: 16, maxSeq: 1024, block: 'full', norm: 'layernorm' });
    const bare = planMemory(cfg, limits, { attention: 'fused' });
    const tied = planMemory(cfg, limits, { attention: 'fused', model: { vocab: 50257, positionRows: 1024, tiedUnembedding: true } });
    const untied = planMemory(cfg, limits, { attention: 'fused', model: { vocab: 50257, positionRows: 1024, tiedUnembedding: false } });
    expect(tied.peakBytes - bare.peakBytes).toBe(4 * (50257 * 768 + 1024 * 768 + 4 * 768 + 50257 + 16));
    expect(untied.peakBytes - tied.peakBytes).toBe(4 * 50257 * 768);
    expect(tied.vocabChunkRows).toBeLessThan(50257);
    expect(tied.vocabChunkRows * 768 * 4).toBeLessThanOrEqual(limits.maxStorageBufferBindingSize);
    expect(bare.vocabChunkRows).toBe(0);
  });
});
