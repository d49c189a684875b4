// Where our f16 rows of every suite can run: the adapter needs shader-f16; otherwise every f16 row of ours says why it
// is absent. The rows themselves are bench/ours.ts's prepareOurs with precision 'f16', the same path as the f32 rows.

import type { GpuContext } from '../../src/gpu/device.js';
import type { PipelineCache } from '../../src/gpu/pipelines.js';
import type { OpCase, OpInputs } from '../inputs.js';
import { prepareOurs, type OursOptions, type OursPrepared } from '../ours.js';

export type OursF16 =
  | { available: true; prepare(gpu: GpuContext, cache: PipelineCache, c: OpCase, inputs: OpInputs, options: OursOptions): Promise<OursPrepared> }
  | { available: false; reason: string };

/** Whether our f16 rows can run on this device, and how. */
export function oursF16(gpu: GpuContext): OursF16 {
  if (!gpu.hasF16) return { available: false, reason: `the adapter (${gpu.adapterInfo.name}) has no shader-f16` };
  return { available: true, prepare: (g, cache, c, inputs, options) => prepareOurs(g, cache, c, inputs, { ...options, precision: 'f16' }) };
}
