// The seeded model: inputs, weights, LayerNorm and MLP tensors, each from its own stream of the counter-based generator
// in src/random.ts (which the kernels use too; re-exported here for the model's and the tests' imports).
import { hash32, seededArray, streamKey } from '../random.js';

export { hash32, seededArray, seededValue, streamKey } from '../random.js';

/** Input x [seq, dModel] and, for cross-attention, the context [kvSeq, dModel], in [-1, 1). */
export function seededInputs(
  seed: number,
  cfg: { seq: number; dModel: number; cross: boolean; kvSeq: number },
): { x: Float32Array; context: Float32Array | null } {
  const x = seededArray(streamKey(seed, STREAM_INPUT), cfg.seq * cfg.dModel, 1);
  const context = cfg.cross ? seededArray(streamKey(seed, STREAM_CONTEXT), cfg.kvSeq * cfg.dModel, 1) : null;
  return { x, context };
}

/** Names of the tensors of one layer, in PyTorch's words. */
export type Projection = 'q' | 'k' | 'v' | 'o';
const PROJECTION_INDEX: Record<Projection, number> = { q: 0, k: 1, v: 2, o: 3 };

/** Stream numbers: 0 is the input x, 1 the cross-attention context, 2 seededSequence, 16 + 8·layer + slot the weights. */
export const STREAM_INPUT = 0;
export const STREAM_CONTEXT = 1;
export const STREAM_SEQUENCE = 2;
export function weightStream(layer: number, projection: Projection, isBias = false): number {
  return 16 + 8 * layer + PROJECTION_INDEX[projection] + (isBias ? 4 : 0);
}

/** Weights are U(-1,1)/√fanIn so every projection keeps activations of order one across 96 layers. */
export const weightScale = (fanIn: number): number => 1 / Math.sqrt(fanIn);
/** Biases are small so they matter without dominating. */
export const biasScale = (fanIn: number): number => 0.1 / Math.sqrt(fanIn);

/** One seeded tensor of a layer: element i is seededValue(key, i, scale), i < count, row-major. */
export interface SeededTensor {
  key: number;
  scale: number;
  count: number;
}

/**
 * The one description of a layer's seeded weights and biases (the engine's GPU fills, the float64
 * reference and the sampled verification all read it): W_Q, W_K, W_V [heads·dHead, dModel] and
 * W_O [dModel, heads·dHead] scaled by 1/√fanIn (fanIn dModel, or heads·dHead for W_O); biases
 * [heads·dHead] (o: [dModel]) by 0.1/√fanIn; each its own stream (weightStream).
 */
export function seededTensor(seed: number, layer: number, proj: Projection, isBias: boolean, cfg: { heads: number; dHead: number; dModel: number }): SeededTensor {
  const inner = cfg.heads * cfg.dHead;
  const fanIn = proj === 'o' ? inner : cfg.dModel;
  return {
    key: streamKey(seed, weightStream(layer, proj, isBias)),
    scale: isBias ? biasScale(fanIn) : weightScale(fanIn),
    count: isBias ? (proj === 'o' ? cfg.dModel : inner) : inner * cfg.dModel,
  };
}

/**
 * Draws uniform in [0, 1) one after another (element 0, 1, 2, … of the seed's own stream, 32 bits
 * each): the one generator for tests and sampling. Replayable from the seed.
 */
export function seededSequence(seed: number): () => number {
  const key = streamKey(seed, STREAM_SEQUENCE);
  let i = 0;
  return () => hash32((Math.imul(i++, 0x9e3779b1) + key) >>> 0) / 2 ** 32;
}

/** A fresh seed (crypto-random) for randomized tests: print it with a failure so it can be replayed. */
export function freshSeed(): number {
  const a = new Uint32Array(1);
  globalThis.crypto.getRandomValues(a);
  return a[0]! >>> 1; // 31 bits: fits every seed flag
}

/**
 * Stream numbers of layer `layer`'s LayerNorm gain and bias: 2²² + 2·layer + {0, 1}, far from
 * the weights' 16 + 8·layer + slot (2²² / 8 ≈ 524 k layers apart).
 */
export const layerNormStream = (layer: number, isBias: boolean): number => (1 << 22) + 2 * layer + (isBias ? 1 : 0);

/**
 * Seeded LayerNorm parameters of one layer: gain 1 + U(−0.1, 0.1), bias U(−0.1, 0.1), each
 * rounded to f32 (the gain's 1 + g in one correctly rounded f32 add). A trained model's gains
 * sit near 1 and its biases near 0; these do too, but not exactly, so a kernel that ignored
 * either would be caught. Small ([dModel] each): generated on the CPU and uploaded per layer.
 */
export function seededLayerNorm(seed: number, layer: number, dModel: number): { gain: Float32Array; bias: Float32Array } {
  const gain = seededArray(streamKey(seed, layerNormStream(layer, false)), dModel, 0.1);
  for (let i = 0; i < dModel; i++) gain[i] = Math.fround(1 + gain[i]!);
  const bias = seededArray(streamKey(seed, layerNormStream(layer, true)), dModel, 0.1);
  return { gain, bias };
}

/** The MLP's seeded tensors: fc1 [ffn, dModel], fc2 [dModel, ffn] and their biases b1 [ffn], b2 [dModel]. */
export type MlpTensorName = 'fc1' | 'fc2';
const MLP_INDEX: Record<MlpTensorName, number> = { fc1: 0, fc2: 1 };

/** Stream numbers of layer `layer`'s MLP tensors: 2²⁴ + 4·layer + {fc1, fc2, b1, b2}, apart from the others. */
export const mlpStream = (layer: number, name: MlpTensorName, isBias: boolean): number => (1 << 24) + 4 * layer + MLP_INDEX[name] + (isBias ? 2 : 0);

/**
 * One seeded MLP tensor of a layer (block 'full'), scaled as the projections: weights by
 * 1/√fanIn (fanIn dModel for fc1, ffn for fc2), biases by 0.1/√fanIn.
 */
export function seededMlpTensor(seed: number, layer: number, name: MlpTensorName, isBias: boolean, cfg: { dModel: number; ffn: number }): SeededTensor {
  const fanIn = name === 'fc1' ? cfg.dModel : cfg.ffn;
  const out = name === 'fc1' ? cfg.ffn : cfg.dModel;
  return {
    key: streamKey(seed, mlpStream(layer, name, isBias)),
    scale: isBias ? biasScale(fanIn) : weightScale(fanIn),
    count: isBias ? out : out * fanIn,
  };
}

/** Stream numbers of LN2's gain and bias: 2²² + 2²¹ + 2·layer + {0, 1}. */
export const mlpLayerNormStream = (layer: number, isBias: boolean): number => (1 << 22) + (1 << 21) + 2 * layer + (isBias ? 1 : 0);

/** Seeded LN2 (before the MLP) of one layer, drawn as seededLayerNorm's from its own streams. */
export function seededMlpLayerNorm(seed: number, layer: number, dModel: number): { gain: Float32Array; bias: Float32Array } {
  const gain = seededArray(streamKey(seed, mlpLayerNormStream(layer, false)), dModel, 0.1);
  for (let i = 0; i < dModel; i++) gain[i] = Math.fround(1 + gain[i]!);
  const bias = seededArray(streamKey(seed, mlpLayerNormStream(layer, true)), dModel, 0.1);
  return { gain, bias };
}
