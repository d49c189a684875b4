// One layer's weights onto the GPU: seeded weights generated in place by fill dispatches (only
// their key changes from layer to layer), or given tensors uploaded. Used by the engine per layer.

import { innerWidth, type AttentionConfig } from './config.js';
import type { LayerBuffers } from './layer.js';
import { seededMlpTensor, seededTensor, type SeededTensor, type Projection } from './seeded.js';
import type { LayerTensors } from './weights.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import type { PreparedDispatch } from '../kernels/dispatch.js';
import { prepareFill } from '../kernels/fill_random.js';
import { bytesPer, type Precision } from '../kernels/precision.js';
import { writeStorage } from '../gpu/buffers.js';

const PROJECTIONS: Projection[] = ['q', 'k', 'v', 'o'];

export interface SeededFill {
  dispatch: PreparedDispatch;
  setLayer(layer: number): void;
}

/** One fill per weight (and bias); per layer only its key changes, written before submission. */
export async function prepareSeededFills(gpu: GpuContext, cache: PipelineCache, cfg: AttentionConfig, b: LayerBuffers, seed: number): Promise<SeededFill[]> {
  const inner = innerWidth(cfg);
  const weights = { q: b.wq, k: b.wk, v: b.wv, o: b.wo };
  const fills: SeededFill[] = [];
  // f16 precision stores the weights in half, bit-identical to the CPU's rounding (src/io/half.ts).
  const precision = cfg.precision;
  const bpe = bytesPer(precision);
  // A matrix over one binding is filled in chunks of whole 256-byte blocks.
  const chunk = Math.floor(gpu.limits.maxStorageBufferBindingSize / 256) * (256 / bpe);
  const add = async (label: string, buffer: GPUBuffer, at: number, tensor: (layer: number) => SeededTensor) => {
    const { key, count, scale } = tensor(0);
    for (let offset = 0; offset < count; offset += chunk) {
      const n = Math.min(chunk, count - offset);
      const out = { buffer, offset: (at + offset) * bpe, size: Math.ceil((n * bpe) / 4) * 4 };
      const fill = await prepareFill(gpu, cache, { label, out, key, count: n, scale, offset, precision });
      fills.push({ dispatch: fill, setLayer: (layer) => fill.setKey(tensor(layer).key) });
    }
  };
  for (const proj of PROJECTIONS) {
    await add(`fill W_${proj.toUpperCase()}`, weights[proj], 0, (l) => seededTensor(seed, l, proj, false, cfg));
    // Bias layout: [q (inner), k (inner), v (inner), o (dModel)].
    if (cfg.bias) await add(`fill ${proj}_proj.bias`, b.bias!, PROJECTIONS.indexOf(proj) * inner, (l) => seededTensor(seed, l, proj, true, cfg));
  }
  if (b.mlp) {
    await add('fill fc1', b.mlp.fc1, 0, (l) => seededMlpTensor(seed, l, 'fc1', false, cfg));
    await add('fill fc2', b.mlp.fc2, 0, (l) => seededMlpTensor(seed, l, 'fc2', false, cfg));
    await add('fill fc1.bias', b.mlp.b1, 0, (l) => seededMlpTensor(seed, l, 'fc1', true, cfg));
    await add('fill fc2.bias', b.mlp.b2, 0, (l) => seededMlpTensor(seed, l, 'fc2', true, cfg));
  }
  return fills;
}

/** Given tensors uploaded, rounded to f16 (nearest even) with f16 precision. */
export function uploadLayer(gpu: GpuContext, b: LayerBuffers, t: LayerTensors, precision: Precision = 'f32'): void {
  const write = (buffer: GPUBuffer, data: Float32Array, at = 0) => writeStorage(gpu, buffer, at, data, precision);
  write(b.wq, t.q);
  write(b.wk, t.k);
  write(b.wv, t.v);
  write(b.wo, t.o);
  if (b.bias) {
    // Bias layout: [q (inner), k (inner), v (inner), o (dModel)], inner = t.q.length / dModel.
    const inner = t.qBias!.length;
    write(b.bias, t.qBias!, 0);
    write(b.bias, t.kBias!, inner);
    write(b.bias, t.vBias!, 2 * inner);
    write(b.bias, t.oBias!, 3 * inner);
  }
  if (b.mlp) {
    write(b.mlp.fc1, t.fc1!);
    write(b.mlp.fc2, t.fc2!);
    write(b.mlp.b1, t.fc1Bias!);
    write(b.mlp.b2, t.fc2Bias!);
  }
}
