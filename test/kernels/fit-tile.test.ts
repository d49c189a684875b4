// Fitting the adapter's tile to a product's shape, without a GPU: a 16-row projection (GPT-3's
// widths, a 16-token sequence) gets a 16-row tile even from a base whose K step of 16 would not
// divide its loads among the fitted threads (the K step is halved with the tile), and a shape
// that fills the base tile keeps it.
import { describe, expect, it } from 'vitest';
import { describeTile, fitTileToShape, tileProblem, type TiledTile } from '../../src/kernels/matmul.js';

const limits = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupStorageSize: 32768 };
const lavapipe: TiledTile = { wgX: 16, wgY: 16, tk: 16, rb: 8, stages: 1, vec4: true, groupM: 8 };

describe('fitTileToShape', () => {
  it('a 16-row product from a tk16 base: 16 rows, K step 8, nothing computed past the edge in M', () => {
    const t = fitTileToShape(lavapipe, 16, 2730, limits);
    expect(describeTile(t)).toBe('16x128 wg16x2 rb8 tk8 s1 g8 vec4');
    expect(tileProblem(t, limits)).toBeNull();
  });
  it('a shape that fills the base tile keeps it, K step included', () => {
    expect(fitTileToShape(lavapipe, 512, 512, limits)).toEqual(lavapipe);
  });
  it('a 32-wide head: 32 columns', () => {
    const t = fitTileToShape(lavapipe, 2048, 32, limits) as TiledTile;
    expect(t.wgX * t.rb).toBe(32);
    expect(tileProblem(t, limits)).toBeNull();
  });
});
