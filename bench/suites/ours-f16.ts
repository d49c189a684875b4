// Our kernels with f16 storage, for the f16 rows of every suite: the inputs (already f16 values, so storing
// them is exact) uploaded as f16, the op prepared with f16 storage and f32 arithmetic (matmul `types`,
// softmax and fused attention `precision`; the materialized core is the engine's own src/model/layer.ts with
// the config's precision 'f16', its q/k/v, pattern and weighted sums in f16), the output read back as f16
// and widened exactly. The same shape as bench/ours.ts's prepareOurs, which stays the f32 path.
// Available when the adapter has shader-f16; otherwise every f16 row of ours says why it is absent.

import { createStorage, poison, readAt, readBack, upload } from '../../src/gpu/buffers.js';
import type { GpuContext } from '../../src/gpu/device.js';
import type { PipelineCache } from '../../src/gpu/pipelines.js';
import { release, type PreparedDispatch } from '../../src/kernels/dispatch.js';
import { prepareMatmul, type MatmulTile } from '../../src/kernels/matmul.js';
import { prepareSoftmax } from '../../src/kernels/softmax.js';
import { prepareAttention } from '../../src/kernels/attention.js';
import type { Precision } from '../../src/kernels/precision.js';
import type { AttentionConfig } from '../../src/model/config.js';
import { prepareLayer } from '../../src/model/layer.js';
import { planMemory } from '../../src/model/plan.js';
import type { GpuStage } from '../harness.js';
import { outputElements, type OpCase, type OpInputs } from '../inputs.js';
import type { OursOptions, OursPrepared } from '../ours.js';

export type OursF16 =
  | { available: true; prepare(gpu: GpuContext, cache: PipelineCache, c: OpCase, inputs: OpInputs, options: OursOptions): Promise<OursPrepared> }
  | { available: false; reason: string };

/** Whether our f16 rows can run on this device, and how. */
export function oursF16(gpu: GpuContext): OursF16 {
  if (!gpu.hasF16) return { available: false, reason: `the adapter (${gpu.adapterInfo.name}) has no shader-f16` };
  return { available: true, prepare: prepareOursF16 };
}

const H: Precision = 'f16';

export async function prepareOursF16(gpu: GpuContext, cache: PipelineCache, c: OpCase, inputs: OpInputs, options: OursOptions = {}): Promise<OursPrepared> {
  const { baseTile } = options;
  const owned: GPUBuffer[] = [];
  const dispatches: PreparedDispatch[] = [];
  const keep = (b: GPUBuffer) => (owned.push(b), b);
  const alloc = (n: number, label: string, p: Precision = H) => keep(createStorage(gpu, n, label, p));
  const put = (data: Float32Array, label: string) => keep(upload(gpu, data, label, H));
  const destroy = () => {
    release(dispatches);
    for (const b of owned) b.destroy();
  };
  try {
    const out = alloc(outputElements(c), 'output f16');
    poison(gpu, out, undefined, H); // an element no run writes stays NaN and fails the check
    const stages = await gpu.scoped(`preparing ${c.op} f16`, async (): Promise<{ stages: GpuStage[]; reset?: OursPrepared['reset'] }> => {
      if (c.op === 'matmul' && inputs.op === 'matmul') {
        const d = await prepareMatmul(gpu, cache, {
          label: 'bench matmul f16', M: c.M, N: c.N, K: c.K,
          a: { buffer: put(inputs.a, 'A f16') }, b: { buffer: put(inputs.b, 'B f16') }, c: { buffer: out },
          transB: c.transB, batch: c.batch, batchA: c.M * c.K, batchB: c.K * c.N, batchC: c.M * c.N,
          causal: c.pattern ? 'limit-k' : 'none', baseTile, types: { a: H, b: H, c: H },
        });
        dispatches.push(d);
        return { stages: [{ name: c.pattern ? 'weighted' : 'matmul', dispatches: [d] }] };
      }
      if (c.op === 'softmax' && inputs.op === 'softmax') {
        // In place: every run starts from a pristine copy of the scores (copied untimed by the harness).
        const src = put(inputs.x, 'scores f16');
        const d = await prepareSoftmax(gpu, cache, { label: 'bench softmax f16', scores: { buffer: out }, rows: c.rows, cols: c.cols, seq: c.seq, causal: c.causal, precision: H });
        dispatches.push(d);
        // Both buffers are the same padded size (createStorage rounds f16 storage up to whole 16 bytes).
        return { stages: [{ name: 'softmax', dispatches: [d] }], reset: (e) => e.copyBufferToBuffer(src, 0, out, 0, Math.min(src.size, out.size)) };
      }
      if (c.op === 'attention' && inputs.op === 'attention' && options.fused) {
        const width = c.heads * c.dHead;
        const d = await prepareAttention(gpu, cache, {
          label: 'bench fused attention f16', q: { buffer: put(inputs.q, 'q f16') }, k: { buffer: put(inputs.k, 'k f16') },
          v: { buffer: put(inputs.v, 'v f16') }, out: { buffer: out },
          seq: c.seq, kvSeq: c.seq, heads: c.heads, dHead: c.dHead, ldQ: width, ldK: width, ldO: width, causal: c.causal,
          tile: options.attentionTile, precision: H,
        });
        dispatches.push(d);
        return { stages: [{ name: 'fused', dispatches: [d] }] };
      }
      if (c.op === 'attention' && inputs.op === 'attention') return { stages: await materializedCoreF16(gpu, cache, c, inputs, put, alloc, out, dispatches, baseTile) };
      throw new Error(`prepareOursF16: inputs of ${inputs.op} for a ${c.op} case`);
    });
    return { ...stages, read: (indices) => (indices ? readAt(gpu, out, indices, H) : readBack(gpu, out, outputElements(c), 0, H)), destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/**
 * The engine's materialized core in f16 (src/model/layer.ts prepareLayer with precision 'f16', head groups from
 * planMemory), as bench/ours.ts does it in f32: a layer of model width 4 whose projections are prepared and
 * dropped, keeping scores → causal softmax → pattern·v per head group, every buffer of the core in f16.
 */
async function materializedCoreF16(gpu: GpuContext, cache: PipelineCache, c: Extract<OpCase, { op: 'attention' }>, x: Extract<OpInputs, { op: 'attention' }>,
  put: (data: Float32Array, label: string) => GPUBuffer, alloc: (n: number, label: string, p?: Precision) => GPUBuffer, out: GPUBuffer,
  dispatches: PreparedDispatch[], baseTile?: MatmulTile): Promise<GpuStage[]> {
  const cfg: AttentionConfig = { layers: 1, heads: c.heads, dModel: 4, dHead: c.dHead, seq: c.seq, maxSeq: c.seq, kvSeq: c.seq, mask: c.causal, cross: false, bias: false, norm: 'none', precision: H, block: 'attention', ffn: 16, activation: 'gelu_new', lnEps: 1e-5 };
  const plan = planMemory(cfg, gpu.limits, { attention: 'materialized' });
  const inner = c.heads * c.dHead;
  const buffers = {
    x: alloc(c.seq * cfg.dModel, 'x (unused, f32)', 'f32'), xn: null, ln: null, context: null, bias: null, mlp: null,
    q: put(x.q, 'q f16'), k: put(x.k, 'k f16'), v: put(x.v, 'v f16'), weighted: out,
    pattern: alloc(plan.headGroup * c.seq * c.seq, 'pattern f16'),
    wq: alloc(inner * cfg.dModel, 'W_Q (unused)'), wk: alloc(inner * cfg.dModel, 'W_K (unused)'), wv: alloc(inner * cfg.dModel, 'W_V (unused)'), wo: alloc(inner * cfg.dModel, 'W_O (unused)'),
  };
  poison(gpu, buffers.pattern, undefined, H);
  const stages = await prepareLayer(gpu, cache, cfg, plan, buffers, { baseTile });
  const core = stages.filter((s) => s.name === 'scores' || s.name === 'softmax' || s.name === 'weighted');
  release(stages.filter((s) => !core.includes(s)).flatMap((s) => s.dispatches));
  dispatches.push(...core.flatMap((s) => s.dispatches));
  return core;
}
