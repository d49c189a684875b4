// shaders/decode.wgsl (one decode step: one query row per head against the first n rows of a
// [heads, maxSeq, dHead] KV cache, split over key blocks and merged) against the float64
// reference (src/reference/attention.ts attentionCore of one query row, the cache rearranged to its
// [n, heads·dHead] rows; verification's allowance, src/verify/layer-bound.ts coreError), with the
// adapter's thread shape and others where they run: n = 1, odd n and d_head, n no multiple of a split or a step, rows past n holding values that would change the result, lengths moved on
// one plan, windows over a binding limit, f32 and f16. The output is poisoned first and nothing
// around it may change; planted errors (a length off by one, a stale row) must fail.

import { describe, expect, it } from 'vitest';
import { freshSeed, rng, skipWithout, useGpuContext, withoutF16 } from '../helpers/gpu.js';
import { poison, readBack, upload, writeStorage } from '../../src/gpu/buffers.js';
import { InputError } from '../../src/gpu/errors.js';
import { dispatchOnce } from '../../src/gpu/dispatch.js';
import {
  HARDWARE_DECODE_SHAPE,
  chooseDecodeShape,
  decodeChunk,
  decodeShapeProblem,
  decodeSplits,
  decodeWindows,
  prepareDecode,
  type DecodeShape,
} from '../../src/kernels/decode.js';
import type { Precision } from '../../src/gpu/precision.js';
import { attentionCore } from '../../src/reference/attention.js';
import type { AttentionConfig } from '../../src/model/config.js';
import { coreError } from '../../src/verify/layer-bound.js';
import { allowance, judge } from '../../src/verify/tolerance.js';
import { roundArrayToF16 } from '../../src/io/half.js';

const { ctx, cache: pipelines } = useGpuContext();

interface Case {
  /** More thread shapes run beside the adapter's own (each new one costs a compile: a few, on small cases). */
  also?: DecodeShape[];
  heads: number;
  dHead: number;
  maxSeq: number;
  /** Cache lengths run one after another on one plan (a decode's steps). */
  lengths: number[];
  shape: DecodeShape;
  precision?: Precision;
  /** Query and output offsets (elements) inside their buffers. */
  pad?: number;
  /** The caches bound from this byte offset of their buffers (a multiple of 256). */
  cacheOffsetBytes?: number;
  bindingLimit?: number;
  /** Planted: the GPU attends this many keys more than the reference (may be negative). */
  plantLength?: number;
  /** Planted: this row (from the end of the attended ones) of head 0 keeps a stale value in the GPU's cache. */
  plantStale?: number;
  /** Row lengths[0] − 1 of every head's key along its query (a key the output depends on), so dropping or replacing it shows. */
  hotLast?: boolean;
}

const caps = () => ({
  subgroups: ctx().hasSubgroups,
  subgroupMinSize: ctx().adapterInfo.subgroupMinSize,
  maxComputeInvocationsPerWorkgroup: ctx().limits.maxComputeInvocationsPerWorkgroup,
  maxComputeWorkgroupSizeX: ctx().limits.maxComputeWorkgroupSizeX,
});

/** The shape this adapter takes, and those a case names beside it where they run here. */
const runnable = (dHead: number, also: DecodeShape[] = []): DecodeShape[] => {
  const chosen = chooseDecodeShape(dHead, caps(), ctx().adapterInfo.isSoftware)!;
  return [chosen, ...also.filter((s) => JSON.stringify(s) !== JSON.stringify(chosen) && decodeShapeProblem(s, dHead, caps()) === null)];
};

/**
 * Null when every output of every length is within its allowance and nothing around the output
 * changed, else what failed. f16: against the float64 row of the f16-rounded inputs.
 */
async function run(c: Case, seed: number): Promise<string | null> {
  const g = ctx();
  const next = rng(seed);
  const p = c.precision;
  const width = c.heads * c.dHead;
  const pad = c.pad ?? 0;
  const random = (count: number) => Float32Array.from({ length: count }, () => 2 * next() - 1);
  const stored = (x: Float32Array) => (p === 'f16' ? roundArrayToF16(x) : x);
  const cacheElems = c.heads * c.maxSeq * c.dHead;
  const offElems = (c.cacheOffsetBytes ?? 0) / (p === 'f16' ? 2 : 4);
  const q = stored(random(width));
  const kc = stored(random(cacheElems));
  const vc = stored(random(cacheElems));
  if (c.hotLast) {
    for (let h = 0; h < c.heads; h++) {
      for (let e = 0; e < c.dHead; e++) kc[(h * c.maxSeq + c.lengths[0]! - 1) * c.dHead + e] = 2 * q[h * c.dHead + e]!;
    }
  }
  const owned: GPUBuffer[] = [];
  try {
    const withOffset = (x: Float32Array) => {
      const out = new Float32Array(offElems + x.length + 5).fill(7);
      out.set(x, offElems);
      return out;
    };
    const qb = upload(g, (() => { const x = new Float32Array(pad + width + 3).fill(9); x.set(q, pad); return x; })(), 'q', p);
    const kb = upload(g, withOffset(kc), 'k cache', p);
    const vb = upload(g, withOffset(vc), 'v cache', p);
    const outLength = pad + width + 3;
    const ob = upload(g, new Float32Array(outLength), 'out', p);
    owned.push(qb, kb, vb, ob);
    const label = `decode test seed ${seed}`;
    const plan = await g.scoped(label, () =>
      prepareDecode(g, pipelines(), {
        label, q: qb, kCache: { buffer: kb, offset: c.cacheOffsetBytes ?? 0 }, vCache: { buffer: vb, offset: c.cacheOffsetBytes ?? 0 }, out: ob,
        heads: c.heads, dHead: c.dHead, maxSeq: c.maxSeq, n: c.lengths[0]!, offQ: pad, offO: pad,
        shape: c.shape, precision: p, bindingLimit: c.bindingLimit,
      }),
    );
    try {
      for (const n of c.lengths) {
        // Rows at and past n: large values, as a cache not yet filled there might hold.
        const gpuK = Float32Array.from(kc);
        const gpuV = Float32Array.from(vc);
        for (let h = 0; h < c.heads; h++) {
          for (let j = n; j < c.maxSeq; j++) {
            // A key along the head's query (score 4·|q_h|²/√d, far above the rest) with a large value: attended, it moves every output.
            for (let e = 0; e < c.dHead; e++) { gpuK[(h * c.maxSeq + j) * c.dHead + e] = 4 * q[h * c.dHead + e]!; gpuV[(h * c.maxSeq + j) * c.dHead + e] = 1000; }
          }
        }
        const staleRow = c.plantStale === undefined ? -1 : n - 1 - c.plantStale;
        const writeK = gpuK;
        const writeV = gpuV;
        if (staleRow >= 0) {
          // Head 0's row keeps what an earlier step left there: another row's key and value.
          const from = staleRow === 0 ? 1 : 0;
          for (let e = 0; e < c.dHead; e++) {
            writeK[staleRow * c.dHead + e] = kc[from * c.dHead + e]!;
            writeV[staleRow * c.dHead + e] = vc[from * c.dHead + e]!;
          }
        }
        writeStorage(g, kb, 0, withOffset(writeK), p);
        writeStorage(g, vb, 0, withOffset(writeV), p);
        poison(g, ob, undefined, p);
        plan.setLength(Math.min(c.maxSeq, Math.max(1, n + (c.plantLength ?? 0))));
        await dispatchOnce(g, label, plan.dispatches);
        const out = await readBack(g, ob, outLength, 0, p);

        // The reference: the cache's first n rows as [n, heads·dHead].
        const rowsK = new Float64Array(n * width);
        const rowsV = new Float64Array(n * width);
        for (let h = 0; h < c.heads; h++) {
          for (let j = 0; j < n; j++) {
            for (let e = 0; e < c.dHead; e++) {
              rowsK[j * width + h * c.dHead + e] = kc[(h * c.maxSeq + j) * c.dHead + e]!;
              rowsV[j * width + h * c.dHead + e] = vc[(h * c.maxSeq + j) * c.dHead + e]!;
            }
          }
        }
        const ref = attentionCore(q, rowsK, rowsV, { seq: 1, kvSeq: n, heads: c.heads, dHead: c.dHead, causal: false });
        // Verification's allowance for the attention core (src/verify/layer-bound.ts coreError: one query row, n keys,
        // no mask, scores and weights never stored), through the judge; f16 adds the output's one f16 rounding.
        const core = { seq: 1, heads: c.heads, dHead: c.dHead, mask: false, cross: false, precision: 'f32' } as AttentionConfig;
        const e = coreError(core, q, rowsK, rowsV, null, null, null, ref, undefined, n, 0);
        const tol = e.map((en, i) => allowance(en, ref[i]!, p));
        const verdict = judge(out.subarray(pad, pad + width), ref, tol, (i) => `head ${Math.floor(i / c.dHead)} column ${i % c.dHead}`);
        if (!verdict.passed) return `n ${n} (split into ${plan.splits} × ${plan.chunk} keys): ${verdict.detail}`;
        for (let i = 0; i < outLength; i++) {
          if ((i < pad || i >= pad + width) && !Number.isNaN(out[i]!)) return `n ${n}: element ${i} outside the output was written: ${out[i]}`;
        }
      }
      return null;
    } finally {
      plan.destroy();
    }
  } finally {
    for (const b of owned) b.destroy();
  }
}

async function check(c: Case, seed = freshSeed()): Promise<void> {
  expect(await run(c, seed), `seed ${seed}, ${JSON.stringify(c)}`).toBeNull();
}

type Shape = Omit<Case, 'shape'>;
// The one-thread-a-row shape (no subgroups) on a narrow head, the hardware shape (8 streams of 8 lanes) on
// GPT-3's head width.
const CASES: Shape[] = [
  { heads: 1, dHead: 1, maxSeq: 1, lengths: [1] },
  { heads: 3, dHead: 13, maxSeq: 40, lengths: [1, 2, 37, 40], also: [{ threads: 8, lanesPerRow: 1 }] },
  { heads: 2, dHead: 64, maxSeq: 1100, lengths: [1, 33, 1025, 1100], pad: 5 },
  { heads: 8, dHead: 64, maxSeq: 3000, lengths: [2999] },
  { heads: 2, dHead: 128, maxSeq: 700, lengths: [513, 700], pad: 2, also: [HARDWARE_DECODE_SHAPE] },
  { heads: 1, dHead: 100, maxSeq: 90, lengths: [89] },
];
const caseName = (c: Shape) => `${c.heads} heads × ${c.dHead}, cache ${c.maxSeq}, lengths ${c.lengths.join(', ')}${c.also ? `, also ${c.also.map((s) => `${s.threads}/${s.lanesPerRow}`).join(', ')}` : ''}`;

describe('decode step vs float64', () => {
  for (const c of CASES) {
    it(caseName(c), async () => {
      const shapes = runnable(c.dHead, c.also);
      expect(shapes.length, 'some decode shape runs on this adapter').toBeGreaterThan(0);
      for (const shape of shapes) await check({ ...c, shape });
    });
  }

  it('caches over the binding limit: windows of whole heads, and of keys of one head, from an offset', async () => {
    const shape = chooseDecodeShape(16, caps(), ctx().adapterInfo.isSoftware)!;
    const align = ctx().limits.minStorageBufferOffsetAlignment;
    // 3 heads × 200 rows × 16 × 4 B = 12.8 KB a head: two heads a window, then one head in 3 key windows.
    await check({ heads: 3, dHead: 16, maxSeq: 200, lengths: [1, 150, 200], shape, bindingLimit: 30000, cacheOffsetBytes: align });
    await check({ heads: 2, dHead: 16, maxSeq: 200, lengths: [1, 67, 199], shape, bindingLimit: 5000 });
    await check({ heads: 2, dHead: 16, maxSeq: 200, lengths: [120], shape, bindingLimit: 5000, precision: ctx().hasF16 ? 'f16' : undefined });
  });

  it('planted errors fail: the length one short or one long, a stale row', async () => {
    const seed = freshSeed();
    const shape = chooseDecodeShape(32, caps(), ctx().adapterInfo.isSoftware)!;
    const base: Case = { heads: 2, dHead: 32, maxSeq: 700, lengths: [600], shape, hotLast: true };
    expect(await run(base, seed), `seed ${seed}`).toBeNull();
    expect(await run({ ...base, plantLength: -1 }, seed), `seed ${seed}: a length one short passed`).not.toBeNull();
    expect(await run({ ...base, plantLength: 1 }, seed), `seed ${seed}: a length one long passed`).not.toBeNull();
    expect(await run({ ...base, plantStale: 0 }, seed), `seed ${seed}: a stale last row passed`).not.toBeNull();
    expect(await run({ ...base, plantStale: 300 }, seed), `seed ${seed}: a stale middle row passed`).not.toBeNull();
  });
});

describe('decode step with f16 storage, vs float64 from the rounded inputs', () => {
  it('is refused by name on a device without shader-f16, before any GPU work', async () => {
    const b = { size: 1 << 12 } as GPUBuffer;
    await expect(prepareDecode(withoutF16(ctx()), pipelines(), { label: 'f16', q: b, kCache: b, vCache: b, out: b, heads: 1, dHead: 1, maxSeq: 1, n: 1, precision: 'f16' })).rejects.toThrow(/shader-f16/);
  });

  for (const c of CASES) {
    it(caseName({ ...c, also: undefined }), async (t) => {
      skipWithout(t, ctx(), 'shader-f16');
      for (const shape of runnable(c.dHead)) await check({ ...c, also: undefined, shape, precision: 'f16' });
    });
  }

  it('planted errors fail in f16: the length one short, a stale row', async (t) => {
    skipWithout(t, ctx(), 'shader-f16');
    const seed = freshSeed();
    const shape = chooseDecodeShape(32, caps(), ctx().adapterInfo.isSoftware)!;
    const base: Case = { heads: 2, dHead: 32, maxSeq: 300, lengths: [257], shape, precision: 'f16', hotLast: true };
    expect(await run(base, seed), `seed ${seed}`).toBeNull();
    expect(await run({ ...base, plantLength: -1 }, seed), `seed ${seed}: a length one short passed`).not.toBeNull();
    expect(await run({ ...base, plantStale: 100 }, seed), `seed ${seed}: a stale row passed`).not.toBeNull();
  });
});

describe('decode geometry (no GPU)', () => {
  it('a single token at 96 heads fills the adapter: heads × splits reaches the target where n allows', () => {
    expect(96 * decodeSplits(2048, 96, false)).toBeGreaterThanOrEqual(1024);
    expect(96 * decodeSplits(32768, 96, false)).toBeGreaterThanOrEqual(1024);
    expect(8 * decodeSplits(32768, 8, true)).toBeGreaterThanOrEqual(16);
    expect(decodeSplits(1, 96, false)).toBe(1);
    for (const n of [1, 7, 512, 513, 2048, 32768, 100001]) {
      for (const [heads, software, streams] of [[96, false, 8], [8, true, 8], [1, true, 8]] as const) {
        const chunk = decodeChunk(n, heads, streams, software);
        expect(chunk % (streams * 4)).toBe(0);
        expect(Math.ceil(n / chunk)).toBeLessThanOrEqual(decodeSplits(n, heads, software));
        expect(decodeSplits(n, heads, software)).toBeLessThanOrEqual(decodeSplits(100001, heads, software));
      }
    }
  });

  it('windows cover every head and key once, each within the limit, offsets aligned', () => {
    for (const [heads, maxSeq, d, bytes, off, limit] of [[3, 200, 16, 4, 256, 30000], [2, 200, 16, 4, 0, 5000], [96, 32768, 128, 4, 0, 2 ** 31 - 4], [4, 1000, 13, 2, 512, 9000]] as const) {
      const ws = decodeWindows(heads, maxSeq, d, bytes, off, limit, 256);
      const seen = new Set<string>();
      for (const w of ws) {
        expect(w.byteOffset % 256).toBe(0);
        expect(w.byteSize).toBeLessThanOrEqual(limit);
        expect(w.byteOffset + w.offKV * bytes).toBe(off + (w.headBase * maxSeq + w.keyBase) * d * bytes);
        expect(w.byteOffset + w.byteSize).toBeGreaterThanOrEqual(off + ((w.headBase + w.heads - 1) * maxSeq + w.keyEnd) * d * bytes);
        for (let h = w.headBase; h < w.headBase + w.heads; h++) seen.add(`${h}:${w.keyBase}-${w.keyEnd}`);
      }
      for (let h = 0; h < heads; h++) {
        const runs = [...seen].filter((s) => s.startsWith(`${h}:`)).map((s) => s.split(':')[1]!.split('-').map(Number) as [number, number]).sort((a, b) => a[0] - b[0]);
        expect(runs[0]![0]).toBe(0);
        for (let i = 1; i < runs.length; i++) expect(runs[i]![0]).toBe(runs[i - 1]![1]);
        expect(runs[runs.length - 1]![1]).toBe(maxSeq);
      }
    }
  });

  it('refuses bad lengths and shapes before any GPU work, naming the argument', async () => {
    const b = { size: 1 << 16 } as GPUBuffer;
    const call = { label: 'bad', q: b, kCache: b, vCache: b, out: b, heads: 2, dHead: 16, maxSeq: 100, n: 1 };
    await expect(prepareDecode(ctx(), pipelines(), { ...call, n: 0 })).rejects.toThrow(/cache length 0 .* 1 \.\. maxSeq 100/);
    await expect(prepareDecode(ctx(), pipelines(), { ...call, n: 101 })).rejects.toThrow(InputError);
    await expect(prepareDecode(ctx(), pipelines(), { ...call, dHead: 2000, maxSeq: 1 })).rejects.toThrow(/d_head 2000/);
    await expect(prepareDecode(ctx(), pipelines(), { ...call, maxSeq: 10000 })).rejects.toThrow(/k cache binding holds 65536 bytes/);
    expect(decodeShapeProblem({ threads: 64, lanesPerRow: 8 }, 128, { subgroups: false, subgroupMinSize: 0, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 })).toMatch(/subgroups feature/);
    expect(decodeShapeProblem({ threads: 64, lanesPerRow: 8 }, 128, { subgroups: true, subgroupMinSize: 4, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 })).toMatch(/at least 8 wide/);
  });
});
