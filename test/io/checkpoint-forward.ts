// A float64 forward of a loaded checkpoint, in the engine's layout ([out, in] weights, q | k | v
// apart): the loader's re-layout checked end to end against the numpy cases, which were computed
// from the files' own layouts (Conv1D for GPT-2). Test-only; deliberately plain.

import type { CheckpointConfig } from '../../src/io/checkpoint-config.js';
import type { CheckpointLayerTensors } from '../../src/io/checkpoint-layout.js';
import type { CheckpointModelTensors } from '../../src/node/checkpoint.js';

const linear = (x: Float64Array, rows: number, inW: number, w: Float32Array, b: Float32Array, outW: number): Float64Array => {
  const y = new Float64Array(rows * outW);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outW; o++) {
      let s = b[o]!;
      for (let i = 0; i < inW; i++) s += x[r * inW + i]! * w[o * inW + i]!;
      y[r * outW + o] = s;
    }
  }
  return y;
};

const layerNorm = (x: Float64Array, rows: number, d: number, g: Float32Array, b: Float32Array, eps: number): Float64Array => {
  const y = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[r * d + i]!;
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) y[r * d + i] = (x[r * d + i]! - mean) * inv * g[i]! + b[i]!;
  }
  return y;
};

export function forward64(cfg: CheckpointConfig, model: CheckpointModelTensors, layers: CheckpointLayerTensors[], tokens: number[]):
  { states: Float64Array[]; logits: Float64Array } {
  const n = tokens.length;
  const d = cfg.dModel;
  const x = new Float64Array(n * d);
  tokens.forEach((t, p) => {
    for (let i = 0; i < d; i++) x[p * d + i] = model.tokenEmbedding[t * d + i]! + model.positionEmbedding[(p + model.positionOffset) * d + i]!;
  });
  const states = [x.slice()];
  const act = cfg.activation === 'relu' ? (v: number) => Math.max(v, 0) : (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  for (const t of layers) {
    const a = layerNorm(x, n, d, t.lnGain, t.lnBias, cfg.lnEps);
    const q = linear(a, n, d, t.q, t.qBias, d);
    const k = linear(a, n, d, t.k, t.kBias, d);
    const v = linear(a, n, d, t.v, t.vBias, d);
    const o = new Float64Array(n * d);
    const dh = cfg.dHead;
    for (let h = 0; h < cfg.heads; h++) {
      for (let i = 0; i < n; i++) {
        const s = new Float64Array(i + 1);
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let e = 0; e < dh; e++) dot += q[i * d + h * dh + e]! * k[j * d + h * dh + e]!;
          s[j] = dot / Math.sqrt(dh);
          max = Math.max(max, s[j]!);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += (s[j] = Math.exp(s[j]! - max));
        for (let j = 0; j <= i; j++) for (let e = 0; e < dh; e++) o[i * d + h * dh + e]! += (s[j]! / sum) * v[j * d + h * dh + e]!;
      }
    }
    const attn = linear(o, n, d, t.o, t.oBias, d);
    for (let i = 0; i < n * d; i++) x[i]! += attn[i]!;
    const m = layerNorm(x, n, d, t.mlpLnGain, t.mlpLnBias, cfg.lnEps);
    const hidden = linear(m, n, d, t.fc1, t.fc1Bias, cfg.ffn).map(act);
    const mlp = linear(hidden, n, cfg.ffn, t.fc2, t.fc2Bias, d);
    for (let i = 0; i < n * d; i++) x[i]! += mlp[i]!;
    states.push(x.slice());
  }
  const last = layerNorm(x.subarray((n - 1) * d), 1, d, model.finalGain, model.finalBias, cfg.lnEps);
  const logits = linear(last, 1, d, model.unembedding, new Float32Array(cfg.vocab), cfg.vocab);
  return { states, logits };
}
