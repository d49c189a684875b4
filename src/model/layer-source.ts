// One layer's weights onto the GPU before its command buffer: given tensors (checked by
// checkLayerTensors, LayerNorm's included, then uploaded) or seeded (the fill dispatches' keys set
// for the layer), plus the LayerNorm gain and bias, which are small enough to generate on the CPU
// and upload.

import type { AttentionConfig } from './config.js';
import type { LayerBuffers } from './layer.js';
import { seededBiases, uploadBiases, uploadLayer, type SeededFill } from './layer-weights.js';
import { seededLayerNorm, seededMlpLayerNorm } from './seeded.js';
import { checkLayerTensors, type WeightSource } from './weights.js';
import type { GpuContext } from '../gpu/device.js';

export async function loadLayerWeights(gpu: GpuContext, cfg: AttentionConfig, b: LayerBuffers, weights: WeightSource,
  fills: SeededFill[] | null, layer: number): Promise<void> {
  if (weights.kind === 'tensors') {
    const t = await weights.layer(layer);
    checkLayerTensors(t, cfg, layer);
    uploadLayer(gpu, b, t, cfg.precision);
    if (b.ln) uploadLayerNorm(gpu, b.ln, t.lnGain!, t.lnBias!); // checked with the rest of the layer above
    if (b.mlp) uploadLayerNorm(gpu, b.mlp.ln, t.mlpLnGain!, t.mlpLnBias!);
    return;
  }
  for (const f of fills!) f.setLayer(layer);
  if (b.bias) uploadBiases(gpu, b.bias, seededBiases(weights.seed, layer, cfg), cfg.precision);
  if (b.ln) {
    const ln = seededLayerNorm(weights.seed, layer, cfg.dModel);
    uploadLayerNorm(gpu, b.ln, ln.gain, ln.bias);
  }
  if (b.mlp) {
    const ln2 = seededMlpLayerNorm(weights.seed, layer, cfg.dModel);
    uploadLayerNorm(gpu, b.mlp.ln, ln2.gain, ln2.bias);
  }
}

function uploadLayerNorm(gpu: GpuContext, ln: GPUBuffer, gain: Float32Array, bias: Float32Array): void {
  gpu.device.queue.writeBuffer(ln, 0, gain.buffer, gain.byteOffset, gain.byteLength);
  gpu.device.queue.writeBuffer(ln, gain.byteLength, bias.buffer, bias.byteOffset, bias.byteLength);
}
