// Float64 CPU reference for LayerNorm (GPT-3's pre-LN on the attention sublayer's input).
// Textbook two-pass: the mean, then the biased variance Σ(x − mean)²/n. Imports nothing from
// src/gpu or src/kernels.

/** GPT-3's (and PyTorch's default) LayerNorm epsilon. */
export const LAYERNORM_EPS = 1e-5;

/** y[r, j] = (x[r, j] − mean_r) / sqrt(var_r + eps) · gain[j] + bias[j], rows of length dModel. */
export function layerNorm(
  x: ArrayLike<number>,
  rows: number,
  dModel: number,
  gain: ArrayLike<number>,
  bias: ArrayLike<number>,
  eps = LAYERNORM_EPS,
): Float64Array {
  if (x.length !== rows * dModel) throw new Error(`layerNorm: x: expected ${rows * dModel} values (rows·dModel), got ${x.length}`);
  if (gain.length !== dModel) throw new Error(`layerNorm: gain: expected ${dModel} values, got ${gain.length}`);
  if (bias.length !== dModel) throw new Error(`layerNorm: bias: expected ${dModel} values, got ${bias.length}`);
  if (!(eps >= 0)) throw new Error(`layerNorm: eps must be non-negative, got ${eps}`);
  const y = new Float64Array(rows * dModel);
  for (let r = 0; r < rows; r++) {
    const base = r * dModel;
    let sum = 0;
    for (let j = 0; j < dModel; j++) sum += x[base + j]!;
    const mean = sum / dModel;
    let sq = 0;
    for (let j = 0; j < dModel; j++) sq += (x[base + j]! - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / dModel + eps);
    for (let j = 0; j < dModel; j++) y[base + j] = (x[base + j]! - mean) * inv * gain[j]! + bias[j]!;
  }
  return y;
}
