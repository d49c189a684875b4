// Where a run's weights and inputs come from: generated from a seed (on the GPU for weights,
// so nothing crosses the bus), or given as tensors (read from safetensors files, or by a caller).

import type { AttentionConfig } from './config.js';
import { innerWidth } from './config.js';
import { InputError } from '../gpu/errors.js';

/** One layer's projections in PyTorch Linear layout [out, in]. */
export interface LayerTensors {
  q: Float32Array; // [heads·dHead, dModel]
  k: Float32Array; // [heads·dHead, dModel]
  v: Float32Array; // [heads·dHead, dModel]
  o: Float32Array; // [dModel, heads·dHead]
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  oBias?: Float32Array;
  /** The pre-attention LayerNorm (input_layernorm.weight, .bias), [dModel] each, for norm 'layernorm'. */
  lnGain?: Float32Array;
  lnBias?: Float32Array;
}

export type WeightSource =
  | { kind: 'seeded'; seed: number }
  /** Called once per layer, in order; may load lazily (a file streamed layer by layer). */
  | { kind: 'tensors'; layer: (index: number) => LayerTensors | Promise<LayerTensors> };

export interface Inputs {
  x: Float32Array; // [seq, dModel]
  context: Float32Array | null; // [kvSeq, dModel] for cross-attention
}

/** Checks a layer's tensors against the config: names the tensor, expected and actual sizes. */
export function checkLayerTensors(t: LayerTensors, cfg: AttentionConfig, layer: number): void {
  const inner = innerWidth(cfg);
  const expect = (name: string, data: Float32Array | undefined, rows: number, cols: number, optional = false) => {
    if (!data) {
      if (optional) return;
      throw new InputError(`layer ${layer}: weight ${name} is missing`);
    }
    if (data.length !== rows * cols) {
      throw new InputError(
        `layer ${layer}: weight ${name} has ${data.length} elements, expected [${rows}, ${cols}] = ${rows * cols} for --heads ${cfg.heads} --d-head ${cfg.dHead} --d-model ${cfg.dModel}`,
      );
    }
    assertFiniteArray(`layer ${layer} ${name}`, data);
  };
  expect('q_proj.weight', t.q, inner, cfg.dModel);
  expect('k_proj.weight', t.k, inner, cfg.dModel);
  expect('v_proj.weight', t.v, inner, cfg.dModel);
  expect('o_proj.weight', t.o, cfg.dModel, inner);
  if (cfg.bias) {
    expect('q_proj.bias', t.qBias, 1, inner);
    expect('k_proj.bias', t.kBias, 1, inner);
    expect('v_proj.bias', t.vBias, 1, inner);
    expect('o_proj.bias', t.oBias, 1, cfg.dModel);
  }
  if (cfg.norm === 'layernorm') {
    expect('input_layernorm.weight', t.lnGain, 1, cfg.dModel);
    expect('input_layernorm.bias', t.lnBias, 1, cfg.dModel);
  }
}

export function checkInputs(inputs: Inputs, cfg: AttentionConfig): void {
  if (inputs.x.length !== cfg.seq * cfg.dModel) {
    throw new InputError(`input x has ${inputs.x.length} elements, expected [${cfg.seq}, ${cfg.dModel}] (--seq × --d-model)`);
  }
  assertFiniteArray('input x', inputs.x);
  if (cfg.cross) {
    if (!inputs.context) throw new InputError('cross-attention needs a context sequence (tensor `context`)');
    if (inputs.context.length !== cfg.kvSeq * cfg.dModel) {
      throw new InputError(
        `input context has ${inputs.context.length} elements, expected [${cfg.kvSeq}, ${cfg.dModel}] (--kv-seq × --d-model)`,
      );
    }
    assertFiniteArray('input context', inputs.context);
  }
}

export function assertFiniteArray(name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new InputError(`${name} holds ${data[i]} at index ${i}: inputs must be finite`);
  }
}
