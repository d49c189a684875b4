// Planted errors for the verification tests: what a wrong kernel would have written.

/**
 * `y` [rows, dModel] as f32 with one element of typical size in `row` (the one whose |y| is nearest
 * the row's RMS, so the plant is neither lost in a near-zero value nor made easy by the largest)
 * multiplied by `factor`.
 */
export function oneElementOff(y: ArrayLike<number>, row: number, dModel: number, factor: number): Float32Array {
  let rms = 0;
  for (let j = 0; j < dModel; j++) rms += y[row * dModel + j]! ** 2;
  rms = Math.sqrt(rms / dModel);
  let k = row * dModel;
  for (let j = 0; j < dModel; j++) if (Math.abs(Math.abs(y[row * dModel + j]!) - rms) < Math.abs(Math.abs(y[k]!) - rms)) k = row * dModel + j;
  const out = Float32Array.from(y);
  out[k] = out[k]! * factor;
  return out;
}
