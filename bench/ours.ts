// Our kernels on one benchmark operation: inputs uploaded, dispatches prepared once (the same calls the
// engine makes in src/model/layer.ts), encoded for every run by the harness, and the output read back
// (whole, or only the checked elements) afterwards.

import { createStorage, poison, upload } from '../src/gpu/buffers.js';
import type { GpuContext } from '../src/gpu/device.js';
import type { PipelineCache } from '../src/gpu/pipelines.js';
import { MAP_READ, Usage } from '../src/gpu/usage.js';
import { release, type PreparedDispatch } from '../src/kernels/dispatch.js';
import { prepareMatmul, type MatmulTile } from '../src/kernels/matmul.js';
import { prepareSoftmax } from '../src/kernels/softmax.js';
import { prepareAttention, type AttentionTile } from '../src/kernels/attention.js';
import type { GpuStage } from './harness.js';
import { outputElements, type OpCase, type OpInputs } from './inputs.js';

export interface OursPrepared {
  stages: GpuStage[];
  reset?: (encoder: GPUCommandEncoder) => void;
  /** The output (all of it, or the elements at `indices`). */
  read(indices: Uint32Array | null): Promise<Float32Array>;
  destroy(): void;
}

const F32 = 4;

export interface OursOptions {
  /** The engine's matmul config (tuned or the adapter's default), fitted to each product as the engine does. */
  baseTile?: MatmulTile;
  /** The attention core as one fused dispatch (shaders/attention.wgsl) instead of three passes. */
  fused?: boolean;
  /** The fused kernel's tile config (default: the adapter's first that fits). */
  attentionTile?: AttentionTile;
}

export async function prepareOurs(gpu: GpuContext, cache: PipelineCache, c: OpCase, inputs: OpInputs, options: OursOptions = {}): Promise<OursPrepared> {
  const { baseTile } = options;
  const owned: GPUBuffer[] = [];
  const dispatches: PreparedDispatch[] = [];
  const keep = (b: GPUBuffer) => (owned.push(b), b);
  const alloc = (n: number, label: string) => keep(createStorage(gpu, n, label));
  const destroy = () => {
    release(dispatches);
    for (const b of owned) b.destroy();
  };
  try {
    const dummy = alloc(4, 'no bias');
    const out = alloc(outputElements(c), 'output');
    poison(gpu, out); // an element no run writes stays NaN and fails the check
    const stages = await gpu.scoped(`preparing ${c.op}`, async (): Promise<{ stages: GpuStage[]; reset?: OursPrepared['reset'] }> => {
      if (c.op === 'matmul' && inputs.op === 'matmul') {
        const d = await prepareMatmul(gpu, cache, {
          label: `bench matmul`, M: c.M, N: c.N, K: c.K,
          a: { buffer: keep(upload(gpu, inputs.a, 'A')) }, b: { buffer: keep(upload(gpu, inputs.b, 'B')) }, c: { buffer: out },
          transB: c.transB, batch: c.batch, batchA: c.M * c.K, batchB: c.K * c.N, batchC: c.M * c.N,
          causal: c.pattern ? 'limit-k' : 'none', baseTile,
        }, dummy);
        dispatches.push(d);
        return { stages: [{ name: c.pattern ? 'weighted' : 'matmul', dispatches: [d] }] };
      }
      if (c.op === 'softmax' && inputs.op === 'softmax') {
        // In place: every run starts from a pristine copy of the scores (copied untimed by the harness).
        const src = keep(upload(gpu, inputs.x, 'scores'));
        const d = await prepareSoftmax(gpu, cache, { label: 'bench softmax', scores: { buffer: out }, rows: c.rows, cols: c.cols, seq: c.seq, causal: c.causal });
        dispatches.push(d);
        return { stages: [{ name: 'softmax', dispatches: [d] }], reset: (e) => e.copyBufferToBuffer(src, 0, out, 0, c.rows * c.cols * F32) };
      }
      if (c.op === 'attention' && inputs.op === 'attention' && options.fused) {
        const width = c.heads * c.dHead;
        const d = await prepareAttention(gpu, cache, {
          label: 'bench fused attention', q: { buffer: keep(upload(gpu, inputs.q, 'q')) }, k: { buffer: keep(upload(gpu, inputs.k, 'k')) },
          v: { buffer: keep(upload(gpu, inputs.v, 'v')) }, out: { buffer: out },
          seq: c.seq, ctx: c.seq, heads: c.heads, dHead: c.dHead, ldQ: width, ldK: width, ldO: width, causal: c.causal,
          tile: options.attentionTile,
        });
        dispatches.push(d);
        return { stages: [{ name: 'fused', dispatches: [d] }] };
      }
      if (c.op === 'attention' && inputs.op === 'attention') return { stages: await attentionStages(gpu, cache, c, inputs, keep, alloc, out, dummy, dispatches, baseTile) };
      throw new Error(`prepareOurs: inputs of ${inputs.op} for a ${c.op} case`);
    });
    return { ...stages, read: (indices) => readElements(gpu, out, outputElements(c), indices), destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** scores = q_h·k_hᵀ/√dHead → causal softmax → pattern·v_h, per group of heads whose pattern fits one binding. */
async function attentionStages(gpu: GpuContext, cache: PipelineCache, c: Extract<OpCase, { op: 'attention' }>, x: Extract<OpInputs, { op: 'attention' }>,
  keep: (b: GPUBuffer) => GPUBuffer, alloc: (n: number, label: string) => GPUBuffer, out: GPUBuffer, dummy: GPUBuffer, dispatches: PreparedDispatch[], baseTile?: MatmulTile): Promise<GpuStage[]> {
  const inner = c.heads * c.dHead;
  const perHead = c.seq * c.seq;
  const groupSize = Math.max(1, Math.min(c.heads, Math.floor(gpu.limits.maxStorageBufferBindingSize / (perHead * F32))));
  const q = keep(upload(gpu, x.q, 'q'));
  const k = keep(upload(gpu, x.k, 'k'));
  const v = keep(upload(gpu, x.v, 'v'));
  const pattern = alloc(groupSize * perHead, 'pattern');
  poison(gpu, pattern);
  const stages: GpuStage[] = [];
  const add = (name: string, d: PreparedDispatch) => {
    dispatches.push(d);
    stages.push({ name, dispatches: [d] });
  };
  for (let first = 0; first < c.heads; first += groupSize) {
    const count = Math.min(groupSize, c.heads - first);
    const binding = { buffer: pattern, size: count * perHead * F32 };
    add('scores', await prepareMatmul(gpu, cache, {
      label: 'bench scores', M: c.seq, N: c.seq, K: c.dHead, a: { buffer: q }, b: { buffer: k }, c: binding,
      lda: inner, ldb: inner, ldc: c.seq, offA: first * c.dHead, offB: first * c.dHead,
      batch: count, batchA: c.dHead, batchB: c.dHead, batchC: perHead,
      alpha: 1 / Math.sqrt(c.dHead), transB: true, causal: c.causal ? 'skip-masked-tiles' : 'none', causalOffset: 0, baseTile,
    }, dummy));
    add('softmax', await prepareSoftmax(gpu, cache, { label: 'bench softmax', scores: binding, rows: count * c.seq, cols: c.seq, seq: c.seq, causal: c.causal }));
    add('weighted', await prepareMatmul(gpu, cache, {
      label: 'bench weighted sums', M: c.seq, N: c.dHead, K: c.seq, a: binding, b: { buffer: v }, c: { buffer: out },
      lda: c.seq, ldb: inner, ldc: inner, offB: first * c.dHead, offC: first * c.dHead,
      batch: count, batchA: perHead, batchB: c.dHead, batchC: c.dHead,
      transB: false, causal: c.causal ? 'limit-k' : 'none', causalOffset: 0, baseTile,
    }, dummy));
  }
  return stages;
}

/**
 * Reads `count` f32 values of `buffer`, or only those at `indices`: one 4-byte copy per index into a small
 * staging buffer, so checking 256 elements of a 1.6 GB result moves 1 KiB.
 */
export async function readElements(gpu: GpuContext, buffer: GPUBuffer, count: number, indices: Uint32Array | null): Promise<Float32Array> {
  const n = indices ? indices.length : count;
  const staging = gpu.device.createBuffer({ size: Math.max(4, n * F32), usage: Usage.COPY_DST | Usage.MAP_READ, label: 'bench read-back' });
  try {
    const encoder = gpu.device.createCommandEncoder({ label: 'bench read-back' });
    if (indices) indices.forEach((at, i) => encoder.copyBufferToBuffer(buffer, at * F32, staging, i * F32, F32));
    else encoder.copyBufferToBuffer(buffer, 0, staging, 0, n * F32);
    gpu.device.queue.submit([encoder.finish()]);
    gpu.check('bench read-back');
    await staging.mapAsync(MAP_READ);
    return new Float32Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}
