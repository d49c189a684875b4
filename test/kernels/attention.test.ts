// shaders/attention.wgsl (the fused attention core) against the float64 reference
// (src/reference/attention.ts attentionCore), for every tile config that fits this adapter: odd
// sizes that are no multiple of any tile, causal (with and without an offset) and unmasked,
// self- and cross-shaped, heads side by side with strides and offsets; the output is poisoned
// first and nothing outside its windows may change. Fresh random inputs; a failure prints its seed.

import { describe, expect, it } from 'vitest';
import { freshSeed, rng, runDispatch, skipWithout, useGpuContext, withoutF16 } from '../helpers/gpu.js';
import { poison, readBack, upload } from '../../src/gpu/buffers.js';
import { InputError } from '../../src/gpu/errors.js';
import {
  HARDWARE_ATTENTION_TILES,
  MAX_FUSED_D_HEAD,
  SOFTWARE_ATTENTION_TILES,
  attentionStorageBytes,
  attentionTileProblem,
  chooseAttentionTile,
  prepareAttention,
  subgroupCapsOf,
  type AttentionTile,
} from '../../src/kernels/attention.js';
import { createNodeGpu } from '../../src/node/dawn.js';
import { attentionCore } from '../../src/reference/attention.js';
import { F16_UNIT, roundArrayToF16 } from '../../src/io/half.js';
import type { Precision } from '../../src/gpu/precision.js';
import { coreError } from '../../src/verify/layer-bound.js';
import { allowance, judge } from '../../src/verify/tolerance.js';
import type { AttentionConfig } from '../../src/model/config.js';

const { ctx, cache: pipelines } = useGpuContext();

interface Case {
  seq: number;
  kvSeq: number;
  heads: number;
  dHead: number;
  causal: boolean;
  causalOffset?: number;
  /** Extra columns around the heads in q, k/v and out (strides wider than heads·dHead). */
  pad?: number;
  /** Scale of the random q and k entries (large: extreme scores). */
  spread?: number;
  tile: AttentionTile;
  /** Storage of q, k, v and out (default f32): f16 inputs are rounded before the reference sees them. */
  precision?: Precision;
  /** Planted: the GPU's causal offset is this much larger than the reference's. */
  plantOffset?: number;
  /** Planted: applied to the read-back output before it is checked. */
  plant?: (out: Float32Array) => void;
}

async function check(c: Case, seed = freshSeed()): Promise<void> {
  const problem = await run(c, seed);
  expect(problem, `seed ${seed}, tile ${JSON.stringify(c.tile)}, ${JSON.stringify({ ...c, tile: undefined })}`).toBeNull();
}

/**
 * Null when every output is within its allowance and nothing outside the windows changed, else
 * what failed. The allowance is verification's for the attention core (src/verify/layer-bound.ts coreError, q, k
 * and v exact: they are the kernel's inputs), through the judge (src/verify/tolerance.ts); f16: against the float64
 * core of the f16-rounded q, k, v, plus one f16 rounding of the output.
 */
async function run(c: Case, seed: number): Promise<string | null> {
  const g = ctx();
  const next = rng(seed);
  const width = c.heads * c.dHead;
  const pad = c.pad ?? 0;
  const ld = width + 2 * pad; // heads start at column `pad`
  const spread = c.spread ?? 1;
  const dense = (rows: number, scale: number) => Float32Array.from({ length: rows * width }, () => (2 * next() - 1) * scale);
  const stored = (x: Float32Array) => (c.precision === 'f16' ? roundArrayToF16(x) : x);
  const [q, k, v] = [stored(dense(c.seq, spread)), stored(dense(c.kvSeq, spread)), stored(dense(c.kvSeq, 1))];
  const strided = (x: Float32Array, rows: number) => {
    const out = Float32Array.from({ length: rows * ld + 3 }, () => 2 * next() - 1);
    for (let r = 0; r < rows; r++) out.set(x.subarray(r * width, (r + 1) * width), r * ld + pad);
    return out;
  };
  const label = `attention test seed ${seed}`;
  const p = c.precision;
  const owned: GPUBuffer[] = [];
  try {
    const qb = upload(g, strided(q, c.seq), 'q', p);
    const kb = upload(g, strided(k, c.kvSeq), 'k', p);
    const vb = upload(g, strided(v, c.kvSeq), 'v', p);
    const outLength = c.seq * ld + 3;
    const ob = upload(g, new Float32Array(outLength), 'out', p);
    owned.push(qb, kb, vb, ob);
    poison(g, ob, undefined, p);
    const d = await g.scoped('attention test', () =>
      prepareAttention(g, pipelines(), {
        label, q: { buffer: qb }, k: { buffer: kb }, v: { buffer: vb }, out: { buffer: ob },
        seq: c.seq, kvSeq: c.kvSeq, heads: c.heads, dHead: c.dHead, ldQ: ld, ldK: ld, ldO: ld,
        offQ: pad, offK: pad, offV: pad, offO: pad, causal: c.causal, causalOffset: (c.causalOffset ?? 0) + (c.plantOffset ?? 0), tile: c.tile, precision: p,
      }),
    );
    await runDispatch(g, d, 'attention test');
    const out = await readBack(g, ob, outLength, 0, p);
    c.plant?.(out);
    const ref = attentionCore(q, k, v, { seq: c.seq, kvSeq: c.kvSeq, heads: c.heads, dHead: c.dHead, causal: c.causal, causalOffset: c.causalOffset });
    // The core's config as coreError reads it: scores and pattern never stored (f32 inside), the mask and the keys.
    const core = { seq: c.seq, heads: c.heads, dHead: c.dHead, mask: c.causal, cross: false, precision: 'f32' } as AttentionConfig;
    const e = coreError(core, q, k, v, null, null, null, ref, undefined, c.kvSeq, c.causalOffset ?? 0);
    const dense = Float32Array.from({ length: c.seq * width }, (_, n) => out[Math.floor(n / width) * ld + pad + (n % width)]!);
    const tol = e.map((en, n) => allowance(en, ref[n]!, p));
    const verdict = judge(dense, ref, tol, (n) => `row ${Math.floor(n / width)} column ${n % width}`);
    if (!verdict.passed) return verdict.detail;
    // Nothing outside the heads' windows is written (the padding keeps its NaN poison).
    for (let i = 0; i < outLength; i++) {
      const row = Math.floor(i / ld);
      const colInRow = i % ld;
      if (row < c.seq && colInRow >= pad && colInRow < pad + width) continue;
      if (!Number.isNaN(out[i]!)) return `element ${i} outside the output windows was written: ${out[i]}`;
    }
    return null;
  } finally {
    for (const b of owned) b.destroy();
  }
}

const runnable = (dHead: number): AttentionTile[] => {
  const all = [...HARDWARE_ATTENTION_TILES, ...SOFTWARE_ATTENTION_TILES].filter((t, i, a) => a.findIndex((u) => JSON.stringify(u) === JSON.stringify(t)) === i);
  return all.filter((t) => attentionTileProblem(t, dHead, ctx().limits, subgroupCapsOf(ctx())) === null);
};

/** Odd shapes, causal (with and without an offset) and unmasked, padded strides: f32 and f16 run the same. */
const CASES: Omit<Case, 'tile'>[] = [
  { seq: 1, kvSeq: 1, heads: 1, dHead: 1, causal: true },
  { seq: 7, kvSeq: 7, heads: 3, dHead: 13, causal: true },
  { seq: 33, kvSeq: 33, heads: 2, dHead: 64, causal: false },
  { seq: 5, kvSeq: 37, heads: 2, dHead: 32, causal: false, pad: 3 },
  { seq: 9, kvSeq: 20, heads: 2, dHead: 16, causal: true, causalOffset: 11, pad: 1 },
  { seq: 70, kvSeq: 70, heads: 2, dHead: 128, causal: true, pad: 4 },
];
const caseName = (c: Omit<Case, 'tile'>) =>
  `seq ${c.seq}, kvSeq ${c.kvSeq}, ${c.heads} heads × ${c.dHead}, ${c.causal ? `causal${c.causalOffset ? ` offset ${c.causalOffset}` : ''}` : 'unmasked'}, every tile`;

describe('fused attention vs float64', () => {
  // f32 also takes a d_head (100) that is not a multiple of 4.
  for (const c of [...CASES, { seq: 45, kvSeq: 45, heads: 1, dHead: 100, causal: true }]) {
    it(caseName(c), async () => {
      const tiles = runnable(c.dHead);
      expect(tiles.length, 'some fused tile runs on this adapter').toBeGreaterThan(0);
      for (const tile of tiles) await check({ ...c, tile });
    });
  }

  it('extreme scores give no NaN, masked or not', async () => {
    // Scores up to ±5000: their fp32 rounding (about 2⁻²⁴·d·Σ|q·k| ≈ 1e-3) moves the weights of
    // keys that compete by as much, whatever the kernel; coreError's non-linear term allows for it.
    const tile = chooseAttentionTile(32, ctx().limits, ctx().adapterInfo.isSoftware, subgroupCapsOf(ctx()))!;
    await check({ seq: 20, kvSeq: 20, heads: 2, dHead: 32, causal: true, spread: 30, tile });
    await check({ seq: 20, kvSeq: 25, heads: 1, dHead: 32, causal: false, spread: 30, tile });
  });

  it('planted errors fail the check: one output 1e-4 relative off, the causal offset one too large', async () => {
    const seed = freshSeed();
    const tile = chooseAttentionTile(32, ctx().limits, ctx().adapterInfo.isSoftware, subgroupCapsOf(ctx()))!;
    const base: Case = { seq: 20, kvSeq: 20, heads: 2, dHead: 32, causal: true, tile };
    expect(await run(base, seed), `seed ${seed}`).toBeNull();
    const off = (out: Float32Array) => {
      const k = out.reduce((best, x, i) => (Math.abs(x) > Math.abs(out[best]!) ? i : best), 0);
      out[k] = out[k]! * (1 + 1e-4);
    };
    expect(await run({ ...base, plant: off }, seed), `seed ${seed}: 1e-4 off passed`).not.toBeNull();
    expect(await run({ ...base, plantOffset: 1 }, seed), `seed ${seed}: causal offset 1 passed`).not.toBeNull();
  });
});

describe('fused attention with q, k, v and out stored as f16, vs float64 from the rounded inputs', () => {
  it('is refused by name on a device without shader-f16, before any GPU work', async () => {
    const b = { buffer: { size: 1 << 12 } as GPUBuffer };
    await expect(prepareAttention(withoutF16(ctx()), pipelines(), { label: 'f16', q: b, k: b, v: b, out: b, seq: 1, kvSeq: 1, heads: 1, dHead: 1, ldQ: 1, ldK: 1, ldO: 1, causal: true, precision: 'f16' })).rejects.toThrow(/shader-f16/);
  });

  for (const c of CASES) {
    it(caseName(c), async (t) => {
      skipWithout(t, ctx(), 'shader-f16');
      for (const tile of runnable(c.dHead)) await check({ ...c, tile, precision: 'f16' });
    });
  }

  it('extreme scores (q, k up to ±30) give no NaN', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const tile = chooseAttentionTile(32, ctx().limits, ctx().adapterInfo.isSoftware, subgroupCapsOf(ctx()))!;
    await check({ seq: 20, kvSeq: 20, heads: 2, dHead: 32, causal: true, spread: 30, tile, precision: 'f16' });
  });

  it('planted errors fail the f16 check: one output 3 f16 ulps off, the causal offset one too large', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const tile = chooseAttentionTile(32, ctx().limits, ctx().adapterInfo.isSoftware, subgroupCapsOf(ctx()))!;
    const base: Case = { seq: 20, kvSeq: 20, heads: 2, dHead: 32, causal: true, tile, precision: 'f16' };
    expect(await run(base, seed), `seed ${seed}`).toBeNull();
    const ulps = (out: Float32Array) => {
      const k = out.reduce((best, x, i) => (Math.abs(x) > Math.abs(out[best]!) ? i : best), 0);
      out[k] = out[k]! * (1 + 6 * F16_UNIT);
    };
    expect(await run({ ...base, plant: ulps }, seed), `seed ${seed}: 3 ulps passed`).not.toBeNull();
    expect(await run({ ...base, plantOffset: 1 }, seed), `seed ${seed}: causal offset 1 passed`).not.toBeNull();
  });
});

describe('fused attention tiles (no GPU)', () => {
  const h100 = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupStorageSize: 49152 };
  const webgpuDefault = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupStorageSize: 16384 };

  it('each adapter kind gets a tile for every head width up to the maximum, within its limits', () => {
    for (const limits of [h100, webgpuDefault]) {
      for (const software of [false, true]) {
        for (const dHead of [1, 13, 32, 64, 100, 128]) {
          const t = chooseAttentionTile(dHead, limits, software);
          expect(t, `d ${dHead}`).not.toBeNull();
          expect(attentionStorageBytes(t!, dHead)).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
        }
      }
    }
    expect(chooseAttentionTile(128, h100, false)).toEqual(HARDWARE_ATTENTION_TILES[0]);
    expect(chooseAttentionTile(MAX_FUSED_D_HEAD + 1, h100, false)).toBeNull();
  });

  it('a head too wide is refused before any GPU work, naming the limit', async () => {
    const g = ctx();
    const b = { buffer: { size: 1 << 20 } as GPUBuffer };
    const call = { label: 'wide', q: b, k: b, v: b, out: b, seq: 2, kvSeq: 2, heads: 1, dHead: 200, ldQ: 200, ldK: 200, ldO: 200, causal: true };
    await expect(prepareAttention(g, pipelines(), call)).rejects.toThrow(InputError);
    await expect(prepareAttention(g, pipelines(), call)).rejects.toThrow(/d_head 200.*at most 128/);
  });
});
