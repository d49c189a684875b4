// Storage precision of a kernel's buffers. 'f16' stores weights, activations, q/k/v and outputs
// as IEEE binary16 (2 bytes) and needs the adapter feature shader-f16; every kernel still
// accumulates in f32 (dot products, softmax max/sum/exp, LayerNorm statistics). The residual
// stream stays f32 whatever the precision (the engine's choice).

import type { GpuContext } from './device.js';
import { InputError } from './errors.js';

export type Precision = 'f32' | 'f16';

/** Bytes of one stored element. */
export const bytesPer = (p: Precision = 'f32'): number => (p === 'f16' ? 2 : 4);

/**
 * Throws an InputError, before any GPU work, when f16 storage is asked of a device without
 * shader-f16. `what` names the asker (a kernel's label, or the command's step).
 */
export function requireF16(gpu: Pick<GpuContext, 'hasF16' | 'adapterInfo'>, what: string): void {
  if (!gpu.hasF16) {
    throw new InputError(`${what}: --precision f16 needs the adapter feature shader-f16, which ${gpu.adapterInfo.name} does not offer`);
  }
}

/** The preprocessor flags of a storage precision ('f16' switches `//#f16` lines on). */
export const precisionFlags = (p: Precision = 'f32'): string[] => (p === 'f16' ? ['f16'] : []);

/** Throws unless `p` is one of the precisions (a typo from JavaScript or JSON would pass the type). */
export function checkPrecision(p: unknown, what: string): Precision {
  if (p === undefined) return 'f32';
  if (p !== 'f32' && p !== 'f16') throw new InputError(`${what}: precision ${String(p)} must be 'f32' or 'f16'`);
  return p;
}
