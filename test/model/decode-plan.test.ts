// The memory plan with a decode session's KV cache (no GPU): GPT-3 at 2,048 tokens holds
// 2·96·2048·12288·4 B = 19.3 GB of cache in f32 and half that in f16; a plan over the memory given
// is refused with the numbers; a layer's cache over maxBufferSize and f16 with an odd d_head too.
import { describe, expect, it } from 'vitest';
import { GPT3, resolveConfig } from '../../src/model/config.js';
import { layerWeightBytes, planMemory } from '../../src/model/plan.js';
import { cacheLayerBytes, cacheRows } from '../../src/model/kv-cache.js';
import { InputError, OutOfMemoryError } from '../../src/gpu/errors.js';

const H100 = { maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 40, minStorageBufferOffsetAlignment: 256 };
const cacheOf = (p: ReturnType<typeof planMemory>) => p.buffers.find((b) => b.name.startsWith('KV cache'))!;

describe('the KV cache in the memory plan', () => {
  it('GPT-3 at 2,048 tokens: 19.3 GB in f32, 9.7 GB in f16', () => {
    const f32 = cacheOf(planMemory(GPT3, H100, { attention: 'fused', kvCache: true }));
    expect(f32.elements * f32.bytesPer).toBe(2 * 96 * 2048 * 12288 * 4);
    expect(f32.name).toBe('KV cache: K and V [96, 2048, 128] × 96 layers');
    const f16 = cacheOf(planMemory({ ...GPT3, precision: 'f16' }, H100, { attention: 'fused', kvCache: true }));
    expect(f16.elements * f16.bytesPer).toBe(2 * 96 * 2048 * 12288 * 2);
    expect(cacheLayerBytes(GPT3)).toBe(96 * 2048 * 128 * 4);
  });

  it('counted in peakBytes, and refused with the numbers over the memory given', () => {
    const without = planMemory(GPT3, H100, { attention: 'fused' }).peakBytes;
    const withCache = planMemory(GPT3, H100, { attention: 'fused', kvCache: true }).peakBytes;
    expect(withCache - without).toBeGreaterThanOrEqual(19_327_352_832);
    expect(() => planMemory(GPT3, H100, { attention: 'fused', kvCache: true, memoryBytes: 16e9 })).toThrow(OutOfMemoryError);
    expect(() => planMemory(GPT3, H100, { attention: 'fused', kvCache: true, memoryBytes: 16e9 })).toThrow(/KV cache: K and V \[96, 2048, 128\] × 96 layers 18\.00 GiB/);
  });

  it('cross-attention keeps the context rows; self-attention maxSeq rows', () => {
    expect(cacheRows(resolveConfig({ cross: true, kvSeq: 77, seq: 5 }))).toBe(77);
    expect(cacheRows(resolveConfig({ seq: 5, maxSeq: 300 }))).toBe(300);
  });

  it('refuses a layer cache over maxBufferSize, and f16 with an odd d_head', () => {
    // Each weight, 512·512·4 B = 1 MiB, fits 64 MiB; one layer's K cache, 4·65536·128·4 B = 128 MiB, does not.
    const narrow = { ...GPT3, heads: 4, dModel: 512, maxSeq: 65536, seq: 16, kvSeq: 16 };
    expect(() => planMemory(narrow, { ...H100, maxBufferSize: 64 << 20 }, { attention: 'fused', kvCache: true })).toThrow(/^one layer's K cache \[4 heads, 65536 rows, 128\] needs 128\.0 MiB, over the adapter's maxBufferSize of 64\.0 MiB$/);
    expect(() => planMemory(resolveConfig({ dHead: 9, heads: 3, dModel: 27, precision: 'f16' }), H100, { kvCache: true })).toThrow(InputError);
  });

  it('counts the step\'s weights: one layer\'s (streamed) or every layer\'s (resident)', () => {
    const cfg = resolveConfig({ layers: 3, heads: 4, dModel: 64, dHead: 16, seq: 8, block: 'full', norm: 'layernorm', bias: true });
    const decodeWeights = (sets: number) => planMemory(cfg, H100, { kvCache: true, decodeWeightSets: sets }).buffers.find((b) => b.name.startsWith('decode weights'))!;
    // 4·64·64 + 3·64 + 64 projections and biases, 2·64·256 + 256 + 64 MLP, in f32, and two LayerNorms' 2·64 f32 each.
    const perLayer = 4 * (4 * 64 * 64 + 4 * 64 + 2 * 64 * 256 + 256 + 64) + 2 * 4 * 2 * 64;
    expect(layerWeightBytes(cfg)).toBe(perLayer);
    expect(decodeWeights(1).elements * decodeWeights(1).bytesPer).toBe(perLayer);
    expect(decodeWeights(3).elements * decodeWeights(3).bytesPer).toBe(3 * perLayer);
    expect(decodeWeights(3).name).toBe('decode weights: 3 of 3 layer(s) on the GPU at once');
  });
});
