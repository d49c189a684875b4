// Our decode step on the benchmark's decode case (src/kernels/decode.ts, shaders/decode.wgsl), in f32 or f16
// storage: k and v rearranged (untimed) from the case's [nKv, heads·dHead] rows into the [heads, nKv, dHead]
// cache the kernel reads, the step prepared at length nKv, the output read back after the timed runs.

import { createStorage, poison, readAt, readBack, upload } from '../src/gpu/buffers.js';
import type { GpuContext } from '../src/gpu/device.js';
import type { PipelineCache } from '../src/gpu/pipelines.js';
import { prepareDecode } from '../src/kernels/decode.js';
import type { Precision } from '../src/gpu/precision.js';
import { outputElements, type OpCase, type OpInputs } from './inputs.js';
import type { OursPrepared } from './ours.js';

/** [nKv, heads·dHead] rows as a [heads, nKv, dHead] cache. */
export function toCache(rows: Float32Array, heads: number, nKv: number, dHead: number): Float32Array {
  const out = new Float32Array(rows.length);
  const width = heads * dHead;
  for (let j = 0; j < nKv; j++) {
    for (let h = 0; h < heads; h++) out.set(rows.subarray(j * width + h * dHead, j * width + (h + 1) * dHead), (h * nKv + j) * dHead);
  }
  return out;
}

export async function prepareOursDecode(gpu: GpuContext, cache: PipelineCache, c: Extract<OpCase, { op: 'decode' }>, x: Extract<OpInputs, { op: 'decode' }>, precision: Precision): Promise<OursPrepared> {
  const owned: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (owned.push(b), b);
  let destroyPlan = () => {};
  const destroy = () => {
    destroyPlan();
    for (const b of owned) b.destroy();
  };
  try {
    const out = keep(createStorage(gpu, outputElements(c), `decode output ${precision}`, precision));
    poison(gpu, out, undefined, precision); // an element no run writes stays NaN and fails the check
    const plan = await gpu.scoped(`preparing decode ${precision}`, () =>
      prepareDecode(gpu, cache, {
        label: `bench decode ${precision}`,
        q: keep(upload(gpu, x.q, 'q', precision)),
        kCache: keep(upload(gpu, toCache(x.k, c.heads, c.nKv, c.dHead), 'k cache', precision)),
        vCache: keep(upload(gpu, toCache(x.v, c.heads, c.nKv, c.dHead), 'v cache', precision)),
        out, heads: c.heads, dHead: c.dHead, maxSeq: c.nKv, n: c.nKv, precision,
      }),
    );
    destroyPlan = () => plan.destroy();
    return {
      stages: [{ name: 'decode', dispatches: plan.dispatches }],
      read: (indices) => (indices ? readAt(gpu, out, indices, precision) : readBack(gpu, out, outputElements(c), 0, precision)),
      destroy,
    };
  } catch (e) {
    destroy();
    throw e;
  }
}
