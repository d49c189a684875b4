// The copy probe (bench/peak.wgsl copyProbe: a grid-stride vec4 copy from src to dst) at a chosen size: the
// run-level memory peak of bench/peak.ts (64 MiB a side on a software adapter, 256 MiB elsewhere), and the probe
// taken beside each bandwidth-bound row of ours (bench/suites/common.ts), sized so it moves (reads + writes) about as
// many bytes as the row does: the same working set, so caches help or fail the probe as they help or fail the row
// (a 2 MiB decode step at n_kv 512 stays in a CPU's last-level cache; a 134 MB one at 32,768 streams from memory).
// Each measurement checks first that the copy happened (dst poisoned with NaN, sampled elements must read src's
// zeros), so a probe that did no work cannot claim a rate.

import peakSource from './peak.wgsl';
import { createStorage, createUniform, poison, readAt } from '../src/gpu/buffers.js';
import type { GpuContext } from '../src/gpu/device.js';
import type { PipelineCache } from '../src/gpu/pipelines.js';
import { validateThenTime } from '../src/gpu/timing.js';
import { bindGroup, release, type PreparedDispatch } from '../src/gpu/dispatch.js';
import { median } from '../src/stats.js';

const WG = 256;
/** Elements of dst checked after the untimed run: evenly spaced, the first and the last included. */
const CHECKED = 33;

export interface CopyProbe {
  /** Bytes read + written by one copy (2 × the bytes a side). */
  readonly bytes: number;
  /** One measurement: the copy checked once, then timed; GB/s of read + write traffic from the median run. */
  measure(opts: { warmup: number; runs: number; minSampleMs?: number }): Promise<number>;
  destroy(): void;
}

/** Bytes a side for a probe that moves about `traffic` bytes (read + written), within one binding; a multiple of 16. */
export function probeSideBytes(gpu: GpuContext, traffic: number): number {
  const cap = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  return Math.max(16, Math.floor(Math.min(traffic / 2, cap) / 16) * 16);
}

export async function prepareCopyProbe(gpu: GpuContext, cache: PipelineCache, sideBytes: number): Promise<CopyProbe> {
  if (sideBytes % 16 !== 0 || sideBytes < 16) throw new RangeError(`copy probe: ${sideBytes} bytes a side is not a positive multiple of 16`);
  const words = sideBytes / 16;
  const elements = sideBytes / 4;
  const src = createStorage(gpu, elements, 'copy probe src'); // zeros: WebGPU buffers start zeroed
  const dst = createStorage(gpu, elements, 'copy probe dst');
  const dispatches: PreparedDispatch[] = [];
  const destroy = () => {
    release(dispatches);
    src.destroy();
    dst.destroy();
  };
  try {
    const groups = Math.min(4096, Math.ceil(words / WG));
    const pipeline = await cache.get({ name: 'peak', source: peakSource, entryPoint: 'copyProbe', constants: { WG, ITERS: 1 } });
    const uniform = createUniform(gpu, [{ u32: words }, { u32: WG * groups }], 'copy probe params');
    const label = `copy probe ${sideBytes} B a side`;
    const d: PreparedDispatch = { label, pipeline, bindGroup: bindGroup(gpu, pipeline, label, [src, dst, uniform]), grid: [groups, 1, 1], owned: [uniform] };
    dispatches.push(d);
    const checked = Uint32Array.from({ length: CHECKED }, (_, i) => Math.round((i * (elements - 1)) / (CHECKED - 1)));
    const check = async () => {
      const got = await readAt(gpu, dst, checked);
      const bad = got.findIndex((v) => v !== 0);
      return { passed: bad < 0, detail: bad < 0 ? '' : `the copy probe left dst[${checked[bad]}] = ${got[bad]} instead of 0: its timing is not trusted` };
    };
    return {
      bytes: 2 * sideBytes,
      async measure(opts) {
        poison(gpu, dst); // a copy that skipped an element leaves NaN there
        const { check: c, timing } = await validateThenTime(gpu, label, [{ name: label, dispatches: [d] }], check, opts);
        if (!timing) throw new Error(c.detail);
        return (2 * sideBytes) / (median(timing.ms) * 1e6);
      },
      destroy,
    };
  } catch (e) {
    destroy();
    throw e;
  }
}
