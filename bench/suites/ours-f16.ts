// Our kernels with f16 storage, for the f16 rows of every suite: the inputs (already f16 values) stored as
// f16, the op run with f16 storage and f32 arithmetic, the output read back as f16 bits and widened exactly.
// Available when the adapter has shader-f16 and our kernels take a storage precision
// (src/kernels/precision.ts); otherwise every f16 row of ours says why it is absent.

import type { GpuContext } from '../../src/gpu/device.js';
import type { PipelineCache } from '../../src/gpu/pipelines.js';
import type { OpCase, OpInputs } from '../inputs.js';
import type { OursOptions, OursPrepared } from '../ours.js';

export type OursF16 =
  | { available: true; prepare(gpu: GpuContext, cache: PipelineCache, c: OpCase, inputs: OpInputs, options: OursOptions): Promise<OursPrepared> }
  | { available: false; reason: string };

/** Whether our f16 rows can run on this device, and how. */
export function oursF16(gpu: GpuContext): OursF16 {
  if (!gpu.hasF16) return { available: false, reason: `the adapter (${gpu.adapterInfo.name}) has no shader-f16` };
  return { available: false, reason: 'our f16 kernels have not landed yet (src/kernels/precision.ts and the kernels\' storage-precision options)' };
}
