// Measured peaks for "% peak" on adapters without a published one (bench/metrics.ts KNOWN_PEAKS):
// the best fp32 FMA rate and device-memory copy rate that bench/peak.wgsl's probes reach here,
// timed like every kernel (each probe's result checked first; timestamp queries, else a drained queue;
// median of the timed runs). The copy probe is bench/copy-probe.ts's, at 64 MiB a side on a software adapter and
// 256 MiB elsewhere: the run-level memory peak. Bandwidth-bound rows of ours also take that probe beside them at
// their own size (bench/suites/common.ts).

import peakSource from './peak.wgsl';
import { createStorage, createUniform, readBack } from '../src/gpu/buffers.js';
import type { GpuContext } from '../src/gpu/device.js';
import type { PipelineCache } from '../src/gpu/pipelines.js';
import { validateThenTime } from '../src/gpu/timing.js';
import { median } from '../src/stats.js';
import { bindGroup, release, type PreparedDispatch } from '../src/gpu/dispatch.js';
import type { Peak } from './metrics.js';
import { prepareCopyProbe, probeSideBytes } from './copy-probe.js';

const FMAS_PER_STEP = 32;

export async function measurePeak(gpu: GpuContext, cache: PipelineCache, software: boolean): Promise<Peak> {
  const owned: GPUBuffer[] = [];
  const dispatches: PreparedDispatch[] = [];
  try {
    // FMA: one vec4 slot of dst per thread (thread 0's is checked), src read once (zeros).
    const groups = software ? 64 : 8 * 1024;
    const slots = 256 * groups;
    const src = createStorage(gpu, 4, 'peak src');
    const dst = createStorage(gpu, slots * 4, 'peak dst');
    owned.push(src, dst);
    const prepare = async (wg: number, iters: number): Promise<PreparedDispatch> => {
      const pipeline = await cache.get({ name: 'peak', source: peakSource, entryPoint: 'fmaProbe', constants: { WG: wg, ITERS: iters } });
      const uniform = createUniform(gpu, [{ u32: slots }, { u32: wg * groups }], 'peak fmaProbe params');
      const d = { label: `peak fmaProbe ${wg}`, pipeline, bindGroup: bindGroup(gpu, pipeline, 'peak fmaProbe', [src, dst, uniform]), grid: [groups, 1, 1] as [number, number, number], owned: [uniform] };
      dispatches.push(d);
      return d;
    };
    const opts = { warmup: 1, runs: 5, minSampleMs: software ? 0 : 5 };

    // FMA: the best of a few workgroup sizes (a CPU adapter prefers few threads, a GPU many).
    let fmaTflops = 0;
    for (const wg of software ? [32, 64, 256] : [128, 256]) {
      const iters = software ? 256 : 4096;
      const d = await prepare(wg, iters);
      const { check, timing } = await validateThenTime(gpu, d.label, [{ name: d.label, dispatches: [d] }], () => checkFmaProbe(gpu, dst, iters), opts);
      if (!timing) throw new Error(check.detail);
      fmaTflops = Math.max(fmaTflops, (2 * FMAS_PER_STEP * iters * wg * groups) / (median(timing.ms) * 1e9));
    }
    const copy = await prepareCopyProbe(gpu, cache, probeSideBytes(gpu, 2 * (software ? 64 : 256) * 2 ** 20));
    let memoryGbps: number;
    try {
      memoryGbps = await copy.measure(opts);
    } finally {
      copy.destroy();
    }
    return {
      fp32Tflops: fmaTflops,
      memoryGbps,
      source: `measured in this run: FMA probe ${formatRate(fmaTflops)}, copy ${memoryGbps.toFixed(1)} GB/s (bench/peak.wgsl)`,
    };
  } finally {
    release(dispatches);
    for (const b of owned) b.destroy();
  }
}

/**
 * A probe that skipped its work would report an absurd peak: thread 0's sum must be the chains'
 * closed form, x_n = 1 + (x_0 − 1)·0.9999ⁿ for x_0 = 0, 0.1, …, 0.7 (src is zeros).
 */
async function checkFmaProbe(gpu: GpuContext, dst: GPUBuffer, iters: number): Promise<{ passed: boolean; detail: string }> {
  const got = (await readBack(gpu, dst, 4))[0]!;
  let want = 0;
  for (let c = 0; c < 8; c++) want += 1 + (c / 10 - 1) * 0.9999 ** iters;
  return { passed: Math.abs(got - want) <= 1e-3 * want, detail: `the FMA peak probe computed ${got} instead of ${want}: its timing is not trusted` };
}

const formatRate = (tflops: number): string => (tflops >= 1 ? `${tflops.toFixed(1)} TFLOP/s` : `${(tflops * 1000).toFixed(1)} GFLOP/s`);
