// Our kernels on one benchmark operation, for the f32 rows and the f16 rows alike: inputs uploaded in the row's
// storage precision (f16 inputs are f16 values already, so storing them is exact), dispatches prepared once with
// that storage and f32 arithmetic (matmul `types`, softmax and fused attention `precision`; the materialized
// attention core by the engine's own src/model/layer.ts with the config's precision), encoded for every run by the
// harness, and the output read back (whole, or only the checked elements; f16 widened exactly) afterwards.
// bench/suites/ours-f16.ts says where the f16 rows can run.

import { createStorage, poison, readAt, readBack, upload } from '../src/gpu/buffers.js';
import type { GpuContext } from '../src/gpu/device.js';
import type { PipelineCache } from '../src/gpu/pipelines.js';
import { release, type PreparedDispatch } from '../src/gpu/dispatch.js';
import { prepareMatmul, type MatmulTile } from '../src/kernels/matmul.js';
import { prepareSoftmax } from '../src/kernels/softmax.js';
import { prepareAttention, type AttentionTile } from '../src/kernels/attention.js';
import type { Precision } from '../src/gpu/precision.js';
import type { AttentionConfig } from '../src/model/config.js';
import { prepareLayer } from '../src/model/layer.js';
import { planMemory } from '../src/model/plan.js';
import type { GpuStage } from './harness.js';
import { outputElements, type OpCase, type OpInputs } from './inputs.js';
import { prepareOursDecode } from './ours-decode.js';

export interface OursPrepared {
  stages: GpuStage[];
  reset?: (encoder: GPUCommandEncoder) => void;
  /** The output (all of it, or the elements at `indices`). */
  read(indices: Uint32Array | null): Promise<Float32Array>;
  destroy(): void;
}

export interface OursOptions {
  /** The engine's matmul config (tuned or the adapter's default), fitted to each product as the engine does. */
  baseTile?: MatmulTile;
  /** The attention core as one fused dispatch (shaders/attention.wgsl) instead of three passes. */
  fused?: boolean;
  /** The fused kernel's tile config (default: the adapter's first that fits). */
  attentionTile?: AttentionTile;
  /** Storage of inputs, intermediates and output (default f32; f16 needs shader-f16: bench/suites/ours-f16.ts). */
  precision?: Precision;
}

export async function prepareOurs(gpu: GpuContext, cache: PipelineCache, c: OpCase, inputs: OpInputs, options: OursOptions = {}): Promise<OursPrepared> {
  if (c.op === 'decode' && inputs.op === 'decode') return prepareOursDecode(gpu, cache, c, inputs, options.precision ?? 'f32');
  const { baseTile } = options;
  const p = options.precision ?? 'f32';
  const named = (label: string) => (p === 'f16' ? `${label} f16` : label);
  const owned: GPUBuffer[] = [];
  const dispatches: PreparedDispatch[] = [];
  const keep = (b: GPUBuffer) => (owned.push(b), b);
  const alloc = (n: number, label: string, storage: Precision = p) => keep(createStorage(gpu, n, named(label), storage));
  const put = (data: Float32Array, label: string) => keep(upload(gpu, data, named(label), p));
  const destroy = () => {
    release(dispatches);
    for (const b of owned) b.destroy();
  };
  try {
    const out = alloc(outputElements(c), 'output');
    poison(gpu, out, undefined, p); // an element no run writes stays NaN and fails the check
    const stages = await gpu.scoped(named(`preparing ${c.op}`), async (): Promise<{ stages: GpuStage[]; reset?: OursPrepared['reset'] }> => {
      if (c.op === 'matmul' && inputs.op === 'matmul') {
        const d = await prepareMatmul(gpu, cache, {
          label: named('bench matmul'), M: c.M, N: c.N, K: c.K,
          a: { buffer: put(inputs.a, 'A') }, b: { buffer: put(inputs.b, 'B') }, c: { buffer: out },
          transB: c.transB, batch: c.batch, batchA: c.M * c.K, batchB: c.K * c.N, batchC: c.M * c.N,
          causal: c.pattern ? 'limit-k' : 'none', baseTile, types: p === 'f16' ? { a: p, b: p, c: p } : undefined,
        });
        dispatches.push(d);
        return { stages: [{ name: c.pattern ? 'weighted' : 'matmul', dispatches: [d] }] };
      }
      if (c.op === 'softmax' && inputs.op === 'softmax') {
        // In place: every run starts from a pristine copy of the scores (copied untimed by the harness).
        const src = put(inputs.x, 'scores');
        const d = await prepareSoftmax(gpu, cache, { label: named('bench softmax'), scores: { buffer: out }, rows: c.rows, cols: c.cols, seq: c.seq, causal: c.causal, precision: p });
        dispatches.push(d);
        // Both buffers are the same size (createStorage rounds f16 storage up to whole 16 bytes).
        return { stages: [{ name: 'softmax', dispatches: [d] }], reset: (e) => e.copyBufferToBuffer(src, 0, out, 0, Math.min(src.size, out.size)) };
      }
      if (c.op === 'attention' && inputs.op === 'attention' && options.fused) {
        const width = c.heads * c.dHead;
        const d = await prepareAttention(gpu, cache, {
          label: named('bench fused attention'), q: { buffer: put(inputs.q, 'q') }, k: { buffer: put(inputs.k, 'k') },
          v: { buffer: put(inputs.v, 'v') }, out: { buffer: out },
          seq: c.seq, kvSeq: c.seq, heads: c.heads, dHead: c.dHead, ldQ: width, ldK: width, ldO: width, causal: c.causal,
          tile: options.attentionTile, precision: p,
        });
        dispatches.push(d);
        return { stages: [{ name: 'fused', dispatches: [d] }] };
      }
      if (c.op === 'attention' && inputs.op === 'attention') return { stages: await materializedCore(gpu, cache, c, inputs, p, put, alloc, out, dispatches, baseTile) };
      throw new Error(`prepareOurs: inputs of ${inputs.op} for a ${c.op} case`);
    });
    return { ...stages, read: (indices) => (indices ? readAt(gpu, out, indices, p) : readBack(gpu, out, outputElements(c), 0, p)), destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/**
 * The engine's own materialized core (src/model/layer.ts prepareLayer, head groups from planMemory) on the
 * given q, k, v: a layer whose model width is 4 (the core does not depend on it) with its projections
 * prepared and dropped, keeping scores = q_h·k_hᵀ/√dHead → causal softmax → pattern·v_h per head group, every
 * buffer of the core in the row's precision (the residual stream x f32, as in the engine).
 */
async function materializedCore(gpu: GpuContext, cache: PipelineCache, c: Extract<OpCase, { op: 'attention' }>, x: Extract<OpInputs, { op: 'attention' }>, precision: Precision,
  put: (data: Float32Array, label: string) => GPUBuffer, alloc: (n: number, label: string, storage?: Precision) => GPUBuffer, out: GPUBuffer,
  dispatches: PreparedDispatch[], baseTile?: MatmulTile): Promise<GpuStage[]> {
  const cfg: AttentionConfig = { layers: 1, heads: c.heads, dModel: 4, dHead: c.dHead, seq: c.seq, maxSeq: c.seq, kvSeq: c.seq, mask: c.causal, cross: false, bias: false, norm: 'none', precision, block: 'attention', ffn: 16, activation: 'gelu_new', lnEps: 1e-5 };
  const plan = planMemory(cfg, gpu.limits, { attention: 'materialized' });
  const inner = c.heads * c.dHead;
  const buffers = {
    x: alloc(c.seq * cfg.dModel, 'x (unused)', 'f32'), xn: null, ln: null, context: null, bias: null, mlp: null,
    q: put(x.q, 'q'), k: put(x.k, 'k'), v: put(x.v, 'v'), weighted: out,
    pattern: alloc(plan.headGroup * c.seq * c.seq, 'pattern'),
    wq: alloc(inner * cfg.dModel, 'W_Q (unused)'), wk: alloc(inner * cfg.dModel, 'W_K (unused)'), wv: alloc(inner * cfg.dModel, 'W_V (unused)'), wo: alloc(inner * cfg.dModel, 'W_O (unused)'),
  };
  poison(gpu, buffers.pattern, undefined, precision);
  const stages = await prepareLayer(gpu, cache, cfg, plan, buffers, { baseTile });
  const core = stages.filter((s) => s.name === 'scores' || s.name === 'softmax' || s.name === 'weighted');
  release(stages.filter((s) => !core.includes(s)).flatMap((s) => s.dispatches));
  dispatches.push(...core.flatMap((s) => s.dispatches));
  return core;
}
