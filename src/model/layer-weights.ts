// One layer's weights onto the GPU: seeded weights generated in place by fill dispatches (only
// their key changes from layer to layer), or given tensors uploaded. Used by the engine per layer.

import type { AttentionConfig } from './config.js';
import type { LayerBuffers } from './layer.js';
import { seededArray, seededMlpTensor, seededTensor, type SeededTensor, type Projection } from './seeded.js';
import type { LayerTensors } from './weights.js';
import type { GpuContext } from '../gpu/device.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import type { PreparedDispatch } from '../gpu/dispatch.js';
import { prepareFill } from '../kernels/fill_random.js';
import { bytesPer, type Precision } from '../gpu/precision.js';
import { writeStorage } from '../gpu/buffers.js';

const PROJECTIONS: Projection[] = ['q', 'k', 'v', 'o'];

export interface SeededFill {
  dispatch: PreparedDispatch;
  setLayer(layer: number): void;
}

/** One fill per weight (and bias); per layer only its key changes, written before submission. */
export async function prepareSeededFills(gpu: GpuContext, cache: PipelineCache, cfg: AttentionConfig, b: LayerBuffers, seed: number): Promise<SeededFill[]> {
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
  }
  // The projections' biases are generated on the CPU and uploaded (seededBiases): their slots in the
  // one bias buffer start at element multiples of inner, which a fill's binding offset could not
  // take (offsets must be multiples of the adapter's storage alignment), and they are small.
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
  if (b.bias) uploadBiases(gpu, b.bias, [t.qBias!, t.kBias!, t.vBias!, t.oBias!], precision);
  if (b.mlp) {
    write(b.mlp.fc1, t.fc1!);
    write(b.mlp.fc2, t.fc2!);
    write(b.mlp.b1, t.fc1Bias!);
    write(b.mlp.b2, t.fc2Bias!);
  }
}

/**
 * The four projection biases into their buffer, laid out [q (inner), k (inner), v (inner), o (dModel)],
 * in one write: with f16 storage and an odd inner width a slot starts mid-word, which a write of its
 * own could not do (writes are whole 4-byte words).
 */
export function uploadBiases(gpu: GpuContext, buffer: GPUBuffer, parts: Float32Array[], precision: Precision): void {
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  writeStorage(gpu, buffer, 0, all, precision);
}

/** A seeded layer's four projection biases [q, k, v, o], the values the reference regenerates. */
export function seededBiases(seed: number, layer: number, cfg: AttentionConfig): Float32Array[] {
  return PROJECTIONS.map((proj) => {
    const { key, count, scale } = seededTensor(seed, layer, proj, true, cfg);
    return seededArray(key, count, scale);
  });
}
