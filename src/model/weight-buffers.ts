// One layer's parameter buffers (LayerNorm, W_Q/K/V/O, biases, the MLP's), allocated alike for a run (./run-buffers.ts,
// one set streamed layer by layer) and for decode steps (./decode-layer.ts, one set or one per layer when resident).

import { innerWidth, type AttentionConfig } from './config.js';
import type { LayerBuffers, MlpBuffers } from './layer.js';
import type { Precision } from '../gpu/precision.js';

/** Allocates a buffer of `elements` values named `label` in `precision` (f32 when omitted). */
export type Allocate = (elements: number, label: string, precision?: Precision) => GPUBuffer;

export type LayerWeightBuffers = Pick<LayerBuffers, 'ln' | 'wq' | 'wk' | 'wv' | 'wo' | 'bias'> & {
  mlp: Pick<MlpBuffers, 'ln' | 'fc1' | 'fc2' | 'b1' | 'b2'> | null;
};

/**
 * The weights of one layer in the config's precision (LayerNorm gains and biases f32), each label prefixed by
 * `prefix` (e.g. 'layer 3 ').
 */
export function allocateLayerWeights(cfg: AttentionConfig, alloc: Allocate, prefix = ''): LayerWeightBuffers {
  const inner = innerWidth(cfg);
  const p = cfg.precision;
  return {
    ln: cfg.norm === 'layernorm' ? alloc(2 * cfg.dModel, `${prefix}LayerNorm gain and bias`) : null,
    wq: alloc(inner * cfg.dModel, `${prefix}W_Q`, p),
    wk: alloc(inner * cfg.dModel, `${prefix}W_K`, p),
    wv: alloc(inner * cfg.dModel, `${prefix}W_V`, p),
    wo: alloc(cfg.dModel * inner, `${prefix}W_O`, p),
    bias: cfg.bias ? alloc(3 * inner + cfg.dModel, `${prefix}biases`, p) : null,
    mlp: cfg.block !== 'full' ? null : {
      ln: alloc(2 * cfg.dModel, `${prefix}LN2 gain and bias`),
      fc1: alloc(cfg.ffn * cfg.dModel, `${prefix}fc1`, p),
      fc2: alloc(cfg.dModel * cfg.ffn, `${prefix}fc2`, p),
      b1: alloc(cfg.ffn, `${prefix}fc1 bias`, p),
      b2: alloc(cfg.dModel, `${prefix}fc2 bias`, p),
    },
  };
}
