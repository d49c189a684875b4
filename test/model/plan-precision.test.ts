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
