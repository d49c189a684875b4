// Float64 CPU reference for the transformer's MLP block (GPT-2, OPT):
//   y = x + fc2(act(fc1(LN2(x)) + b1)) + b2,   fc1 [ffn, dModel], fc2 [dModel, ffn] (PyTorch Linear)
// with act GPT-2's gelu_new (the tanh form) or ReLU (OPT): the two Linear layers are matmulTransB with
// their biases (./matmul.ts). Naive loops; imports nothing from src/gpu or src/kernels.

import { layerNorm } from './layernorm.js';
import { matmulTransB } from './matmul.js';

export type ActivationName = 'gelu_new' | 'relu';

const GELU_C = Math.sqrt(2 / Math.PI);

/** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
}

/** d/dx gelu_new(x), for the verification's error propagation. */
export function geluNewSlope(x: number): number {
  const t = Math.tanh(GELU_C * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
}

/** ReLU; NaN stays NaN (as PyTorch's). */
export const relu = (x: number): number => (x < 0 ? 0 : x);

export function activate(name: ActivationName, x: number): number {
  return name === 'gelu_new' ? geluNew(x) : relu(x);
}

export interface MlpWeights {
  mlpLnGain: ArrayLike<number>;
  mlpLnBias: ArrayLike<number>;
  fc1: ArrayLike<number>;
  fc1Bias: ArrayLike<number>;
  fc2: ArrayLike<number>;
  fc2Bias: ArrayLike<number>;
}

export interface MlpResult {
  /** LN2(x) [seq, dModel]. */
  xn: Float64Array;
  /** fc1(LN2(x)) + b1 [seq, ffn], before the activation. */
  z: Float64Array;
  /** act(z) [seq, ffn]. */
  h: Float64Array;
  /** fc2(h) + b2 [seq, dModel]: the MLP's update to the residual stream. */
  delta: Float64Array;
  /** x + delta. */
  y: Float64Array;
}

/**
 * The MLP sublayer with its residual, rows of x [seq, dModel]. `fault` plants the errors the
 * verification tests must catch (a wrong activation, a skipped bias).
 */
export function mlpBlock(x: ArrayLike<number>, w: MlpWeights, shape: { seq: number; dModel: number; ffn: number; activation: ActivationName; lnEps: number },
  fault: { activation?: ActivationName; skipFc1Bias?: boolean; skipFc2Bias?: boolean } = {}): MlpResult {
  const { seq, dModel: D, ffn: F } = shape;
  const expect = (name: string, a: ArrayLike<number>, n: number) => {
    if (a.length !== n) throw new Error(`mlpBlock ${name}: expected ${n} values, got ${a.length}`);
  };
  expect('x', x, seq * D);
  expect('fc1', w.fc1, F * D);
  expect('fc1Bias', w.fc1Bias, F);
  expect('fc2', w.fc2, D * F);
  expect('fc2Bias', w.fc2Bias, D);
  const act = fault.activation ?? shape.activation;
  const xn = layerNorm(x, seq, D, w.mlpLnGain, w.mlpLnBias, shape.lnEps);
  const z = matmulTransB(xn, w.fc1, seq, F, D, fault.skipFc1Bias ? undefined : w.fc1Bias);
  const h = z.map((v) => activate(act, v));
  const delta = matmulTransB(h, w.fc2, seq, D, F, fault.skipFc2Bias ? undefined : w.fc2Bias);
  const y = delta.map((v, i) => x[i]! + v);
  return { xn, z, h, delta, y };
}
