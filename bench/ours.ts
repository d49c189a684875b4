// Our kernels on one benchmark operation: inputs uploaded, dispatches prepared once (the materialized
// attention core by the engine's own src/model/layer.ts), encoded for every run by the harness, and the
// output read back (whole, or only the checked elements) afterwards.

import { createStorage, poison, readAt, readBack, upload } from '../src/gpu/buffers.js';
import type { GpuContext } from '../src/gpu/device.js';
import type { PipelineCache } from '../src/gpu/pipelines.js';
import { release, type PreparedDispatch } from '../src/kernels/dispatch.js';
import { prepareMatmul, type MatmulTile } from '../src/kernels/matmul.js';
import { prepareSoftmax } from '../src/kernels/softmax.js';
import { prepareAttention, type AttentionTile } from '../src/kernels/attention.js';
import type { AttentionConfig } from '../src/model/config.js';
import { prepareLayer } from '../src/model/layer.js';
import { planMemory } from '../src/model/plan.js';
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
    const out = alloc(outputElements(c), 'output');
    poison(gpu, out); // an element no run writes stays NaN and fails the check
    const stages = await gpu.scoped(`preparing ${c.op}`, async (): Promise<{ stages: GpuStage[]; reset?: OursPrepared['reset'] }> => {
      if (c.op === 'matmul' && inputs.op === 'matmul') {
        const d = await prepareMatmul(gpu, cache, {
          label: `bench matmul`, M: c.M, N: c.N, K: c.K,
          a: { buffer: keep(upload(gpu, inputs.a, 'A')) }, b: { buffer: keep(upload(gpu, inputs.b, 'B')) }, c: { buffer: out },
          transB: c.transB, batch: c.batch, batchA: c.M * c.K, batchB: c.K * c.N, batchC: c.M * c.N,
          causal: c.pattern ? 'limit-k' : 'none', baseTile,
        });
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
          seq: c.seq, kvSeq: c.seq, heads: c.heads, dHead: c.dHead, ldQ: width, ldK: width, ldO: width, causal: c.causal,
          tile: options.attentionTile,
        });
        dispatches.push(d);
        return { stages: [{ name: 'fused', dispatches: [d] }] };
      }
      if (c.op === 'attention' && inputs.op === 'attention') return { stages: await materializedCore(gpu, cache, c, inputs, keep, alloc, out, dispatches, baseTile) };
      throw new Error(`prepareOurs: inputs of ${inputs.op} for a ${c.op} case`);
    });
    return { ...stages, read: (indices) => (indices ? readAt(gpu, out, indices) : readBack(gpu, out, outputElements(c))), destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/**
 * The engine's own materialized core (src/model/layer.ts prepareLayer, head groups from planMemory) on the
 * given q, k, v: a layer whose model width is 4 (the core does not depend on it) with its projections
 * prepared and dropped, keeping scores = q_h·k_hᵀ/√dHead → causal softmax → pattern·v_h per head group.
 */
async function materializedCore(gpu: GpuContext, cache: PipelineCache, c: Extract<OpCase, { op: 'attention' }>, x: Extract<OpInputs, { op: 'attention' }>,
  keep: (b: GPUBuffer) => GPUBuffer, alloc: (n: number, label: string) => GPUBuffer, out: GPUBuffer, dispatches: PreparedDispatch[], baseTile?: MatmulTile): Promise<GpuStage[]> {
  const cfg: AttentionConfig = { layers: 1, heads: c.heads, dModel: 4, dHead: c.dHead, seq: c.seq, maxSeq: c.seq, kvSeq: c.seq, mask: c.causal, cross: false, bias: false, norm: 'none', precision: 'f32', block: 'attention', ffn: 16, activation: 'gelu_new', lnEps: 1e-5 };
  const plan = planMemory(cfg, gpu.limits, { attention: 'materialized' });
  const inner = c.heads * c.dHead;
  const buffers = {
    x: alloc(c.seq * cfg.dModel, 'x (unused)'), xn: null, ln: null, context: null, bias: null, mlp: null,
    q: keep(upload(gpu, x.q, 'q')), k: keep(upload(gpu, x.k, 'k')), v: keep(upload(gpu, x.v, 'v')), weighted: out,
    pattern: alloc(plan.headGroup * c.seq * c.seq, 'pattern'),
    wq: alloc(inner * cfg.dModel, 'W_Q (unused)'), wk: alloc(inner * cfg.dModel, 'W_K (unused)'), wv: alloc(inner * cfg.dModel, 'W_V (unused)'), wo: alloc(inner * cfg.dModel, 'W_O (unused)'),
  };
  poison(gpu, buffers.pattern);
  const stages = await prepareLayer(gpu, cache, cfg, plan, buffers, { baseTile });
  const core = stages.filter((s) => s.name === 'scores' || s.name === 'softmax' || s.name === 'weighted');
  release(stages.filter((s) => !core.includes(s)).flatMap((s) => s.dispatches));
  dispatches.push(...core.flatMap((s) => s.dispatches));
  return core;
}
