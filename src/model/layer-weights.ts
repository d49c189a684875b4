// One layer's weights onto the GPU: seeded weights generated in place by fill dispatches (only
// their key changes from layer to layer), or given tensors uploaded. Used by the engine per layer.

import { innerWidth, type AttentionConfig } from './config.js';
import type { LayerBuffers } from './layer.js';
import { biasScale, streamKey, weightScale, weightStream, type Projection } from './seeded.js';
import type { LayerTensors } from './weights.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import type { PreparedDispatch } from '../kernels/dispatch.js';
import { prepareFill } from '../kernels/fill_random.js';

const PROJECTIONS: Projection[] = ['q', 'k', 'v', 'o'];

export interface SeededFill {
  dispatch: PreparedDispatch;
  setLayer(layer: number): void;
}

/** One fill per weight (and bias); per layer only its key changes, written before submission. */
export async function prepareSeededFills(gpu: GpuContext, cache: PipelineCache, cfg: AttentionConfig, b: LayerBuffers, seed: number): Promise<SeededFill[]> {
  const inner = innerWidth(cfg);
  const targets: { proj: Projection; buffer: GPUBuffer }[] = [
    { proj: 'q', buffer: b.wq }, { proj: 'k', buffer: b.wk }, { proj: 'v', buffer: b.wv }, { proj: 'o', buffer: b.wo },
  ];
  const fills: SeededFill[] = [];
  const limit = gpu.limits.maxStorageBufferBindingSize;
  for (const { proj, buffer } of targets) {
    const fanIn = proj === 'o' ? inner : cfg.dModel;
    const count = inner * cfg.dModel;
    // A matrix over one binding is filled in chunks of whole 64-float blocks (256-byte aligned).
    const chunk = Math.min(count, Math.floor(limit / 256) * 64);
    for (let offset = 0; offset < count; offset += chunk) {
      const n = Math.min(chunk, count - offset);
      fills.push(await fillFor(gpu, cache, `fill W_${proj.toUpperCase()}`, { buffer, offset: offset * 4, size: n * 4 }, n, offset,
        weightScale(fanIn), (layer) => streamKey(seed, weightStream(layer, proj))));
    }
    if (cfg.bias) {
      const at = PROJECTIONS.indexOf(proj) * inner;
      const n = proj === 'o' ? cfg.dModel : inner;
      fills.push(await fillFor(gpu, cache, `fill ${proj}_proj.bias`, { buffer: b.bias!, offset: at * 4, size: n * 4 }, n, 0,
        biasScale(fanIn), (layer) => streamKey(seed, weightStream(layer, proj, true))));
    }
  }
  return fills;
}

async function fillFor(gpu: GpuContext, cache: PipelineCache, label: string, out: { buffer: GPUBuffer; offset: number; size: number },
  count: number, offset: number, scale: number, keyOf: (layer: number) => number): Promise<SeededFill> {
  const dispatch = await prepareFill(gpu, cache, { label, out, key: keyOf(0), count, scale, offset });
  const uniform = dispatch.owned[0]!;
  return { dispatch, setLayer: (layer) => gpu.device.queue.writeBuffer(uniform, 0, new Uint32Array([keyOf(layer) >>> 0])) };
}

export function uploadLayer(gpu: GpuContext, b: LayerBuffers, t: LayerTensors): void {
  const write = (buffer: GPUBuffer, data: Float32Array, at = 0) => gpu.device.queue.writeBuffer(buffer, at, data.buffer, data.byteOffset, data.byteLength);
  write(b.wq, t.q);
  write(b.wk, t.k);
  write(b.wv, t.v);
  write(b.wo, t.o);
  if (b.bias) {
    // Bias layout: [q (inner), k (inner), v (inner), o (dModel)], inner = t.q.length / dModel.
    const inner = t.qBias!.length;
    write(b.bias, t.qBias!, 0);
    write(b.bias, t.kBias!, inner * 4);
    write(b.bias, t.vBias!, 2 * inner * 4);
    write(b.bias, t.oBias!, 3 * inner * 4);
  }
}
