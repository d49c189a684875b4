// The attention choice as one pure function: no GPU, every branch of the rule.
import { describe, expect, it } from 'vitest';
import { chooseAttention } from '../../src/model/attention-choice.js';
import { resolveConfig } from '../../src/model/config.js';

const limits = {
  maxStorageBufferBindingSize: 128 << 20, maxBufferSize: 4 << 30, minStorageBufferOffsetAlignment: 256,
  maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupStorageSize: 32768,
};
const software = { isSoftware: true };
const hardware = { isSoftware: false };
const small = resolveConfig({ layers: 1, heads: 4, dModel: 256, dHead: 64, seq: 33 });

describe('chooseAttention', () => {
  it('auto: fused on a software adapter (the shuffle variant beside the shuffle matmul, the tiled one beside the tiled); materialized on a GPU until timed; the timed core once timed', () => {
    expect(chooseAttention(small, limits, software)).toBe('fused');
    expect(chooseAttention(small, limits, { isSoftware: true, shuffleMatmul: false })).toBe('fused');
    expect(chooseAttention(small, limits, { isSoftware: true, shuffleMatmul: true })).toBe('fused');
    expect(chooseAttention(small, limits, { isSoftware: true, shuffleMatmul: true }, { tuned: 'materialized' })).toBe('materialized');
    expect(chooseAttention(small, limits, hardware)).toBe('materialized');
    expect(chooseAttention(small, limits, hardware, { tuned: 'fused' })).toBe('fused');
    expect(chooseAttention(small, limits, software, { tuned: 'materialized' })).toBe('materialized');
  });
  it('auto: fused wherever one head’s pattern would not fit a binding', () => {
    const long = resolveConfig({ layers: 1, heads: 1, dModel: 64, dHead: 64, seq: 8192, maxSeq: 8192 });
    expect(chooseAttention(long, limits, hardware, { tuned: 'materialized' })).toBe('fused');
    expect(chooseAttention(small, limits, hardware, { patternBytes: 33 * 33 * 4 - 1 })).toBe('fused');
  });
  it('captured patterns need the materialized core; asking for fused then is refused', () => {
    expect(chooseAttention(small, limits, software, { capturePatterns: true })).toBe('materialized');
    expect(() => chooseAttention(small, limits, software, { wanted: 'fused', capturePatterns: true })).toThrow(/capturing patterns needs the materialized/);
  });
  it('a head too wide for any fused tile: auto falls back, fused is refused by name', () => {
    const wide = resolveConfig({ layers: 1, heads: 1, dModel: 160, dHead: 160, seq: 8 });
    expect(chooseAttention(wide, limits, software)).toBe('materialized');
    expect(() => chooseAttention(wide, limits, software, { wanted: 'fused' })).toThrow(/--d-head 160 fits no fused attention tile/);
  });
  it('an explicit request is followed', () => {
    expect(chooseAttention(small, limits, software, { wanted: 'materialized' })).toBe('materialized');
    expect(chooseAttention(small, limits, hardware, { wanted: 'fused' })).toBe('fused');
  });
});
