// The f16 storage allowances the kernel tests share. A kernel computes in f32 and stores its
// result as f16 once: WGSL lets that f32 → f16 conversion round to either neighbour (the spec
// pins no rounding), so the stored value is within one f16 ulp of the f32 result, 2·F16_UNIT of
// it for normals and 2⁻²⁴ (the subnormal spacing) near zero. Inputs are compared against a
// float64 reference computed FROM THE f16-ROUNDED INPUTS, so input rounding is no error.
import { F16_UNIT } from '../../src/io/half.js';

/** f16's subnormal spacing: the absolute error floor of one f16 rounding. */
export const F16_TINY = 2 ** -24;

/**
 * The allowance of an f16-stored result whose f32 value is within `a` (the kernel's f32
 * accumulation allowance) of the float64 reference `ref`.
 */
export const f16StoreAllowance = (a: number, ref: number): number => a + 2 * F16_UNIT * (Math.abs(ref) + a) + F16_TINY;
