// Dispatch overhead: what one compute dispatch costs beyond its work, on this adapter. N tiny
// dispatches (one workgroup of one invocation adding 1 to one word) are issued three ways:
//   pass      all N in one compute pass, one command buffer, one submit (what Engine.run does per layer)
//   passes    N compute passes of one dispatch each, one command buffer, one submit
//   submits   N command buffers of one pass and one dispatch each, N submits, one drain at the end
// For each: the wall clock from the first submit until the queue has drained (encoding excluded, and
// reported apart), and, with the timestamp-query feature, the GPU span from the first pass's begin to
// the last pass's end. µs per dispatch is the slope between two counts, (T(N) − T(N₀)) / (N − N₀), so
// fixed costs (the submit, the drain, the timestamp read-back) drop out; T(N)/N is printed as well.
// The result is checked (the word must equal the number of dispatches run) before it is reported.
//
//   node bench/run-dispatch-overhead.mjs [--counts 16,256] [--runs 7] [--warmup 2] [--no-timestamps] [--json]
//   (bundles this file into dist/ and runs it)

import tinySource from './dispatch-overhead.wgsl';
import { intFlag, parseFlags } from '../src/cli/args.js';
import { createStorage, readBack } from '../src/gpu/buffers.js';
import { GpuContext } from '../src/gpu/device.js';
import { MapMode, Usage } from '../src/gpu/usage.js';
import { createNodeGpu } from '../src/node/dawn.js';
import { median } from '../src/stats.js';

type Mode = 'pass' | 'passes' | 'submits';
const MODES: Mode[] = ['pass', 'passes', 'submits'];

interface Sample {
  encodeMs: number;
  wallMs: number;
  gpuMs: number | null;
}

const FLAGS = { counts: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'boolean' }, 'no-timestamps': { type: 'boolean' } } as const;

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS);
  const counts = (f.counts === undefined ? '16,256' : String(f.counts)).split(',').map(Number);
  if (counts.length !== 2 || !counts.every((n) => Number.isInteger(n) && n > 0) || counts[0]! >= counts[1]!) {
    throw new Error(`--counts wants two increasing positive integers, e.g. 16,256 (got ${String(f.counts)})`);
  }
  const runs = intFlag(f, 'runs') ?? 7;
  const warmup = intFlag(f, 'warmup', { min: 0 }) ?? 2;
  const gpu = await GpuContext.create(createNodeGpu(['disable-dawn-features=timestamp_quantization']));
  const maxN = counts[1]!;
  // Two timestamps per pass; query sets hold at most 4096.
  // --no-timestamps: wall clock only (a pass's timestamp writes are part of what the wall clock pays).
  const timed = gpu.hasTimestamps && !f['no-timestamps'] && 2 * maxN <= 4096;
  const counter = createStorage(gpu, 4, 'dispatch counter');
  const module = gpu.device.createShaderModule({ code: tinySource, label: 'tiny dispatch' });
  const pipeline = await gpu.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'tiny dispatch' });
  const group = gpu.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: counter } }] });
  const querySet = timed ? gpu.device.createQuerySet({ type: 'timestamp', count: 2 * maxN }) : null;
  const resolve = timed ? gpu.device.createBuffer({ size: 2 * maxN * 8, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC }) : null;
  const staging = timed ? gpu.device.createBuffer({ size: 2 * maxN * 8, usage: Usage.COPY_DST | Usage.MAP_READ }) : null;
  let expected = 0;

  const once = async (mode: Mode, n: number): Promise<Sample> => {
    const t0 = performance.now();
    const buffers: GPUCommandBuffer[] = [];
    let encoder = gpu.device.createCommandEncoder();
    let passIndex = 0;
    const beginPass = () =>
      encoder.beginComputePass(
        querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * passIndex, endOfPassWriteIndex: 2 * passIndex++ + 1 } } : {},
      );
    if (mode === 'pass') {
      const pass = beginPass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      for (let i = 0; i < n; i++) pass.dispatchWorkgroups(1);
      pass.end();
    } else {
      for (let i = 0; i < n; i++) {
        const pass = beginPass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(1);
        pass.end();
        if (mode === 'submits' && i < n - 1) {
          buffers.push(encoder.finish());
          encoder = gpu.device.createCommandEncoder();
        }
      }
    }
    if (querySet && resolve && staging) {
      encoder.resolveQuerySet(querySet, 0, 2 * passIndex, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, staging, 0, 2 * passIndex * 8);
    }
    buffers.push(encoder.finish());
    const t1 = performance.now();
    if (mode === 'submits') for (const b of buffers) gpu.device.queue.submit([b]);
    else gpu.device.queue.submit(buffers);
    await gpu.drain(`${mode} × ${n}`);
    const t2 = performance.now();
    expected += n;
    let gpuMs: number | null = null;
    if (staging) {
      await staging.mapAsync(MapMode.READ, 0, 2 * passIndex * 8);
      const ticks = new BigUint64Array(staging.getMappedRange(0, 2 * passIndex * 8));
      const span = Number(ticks[2 * passIndex - 1]! - ticks[0]!);
      staging.unmap();
      gpuMs = span > 0 ? span / 1e6 : null;
    }
    return { encodeMs: t1 - t0, wallMs: t2 - t1, gpuMs };
  };

  const rows: { mode: Mode; n: number; encodeMs: number; wallMs: number; gpuMs: number | null }[] = [];
  for (const mode of MODES) {
    for (const n of counts) {
      for (let i = 0; i < warmup; i++) await once(mode, n);
      const samples: Sample[] = [];
      for (let i = 0; i < runs; i++) samples.push(await once(mode, n));
      const gpuTimes = samples.map((s) => s.gpuMs).filter((x): x is number => x !== null);
      rows.push({
        mode, n,
        encodeMs: median(samples.map((s) => s.encodeMs)),
        wallMs: median(samples.map((s) => s.wallMs)),
        gpuMs: gpuTimes.length === samples.length ? median(gpuTimes) : null,
      });
    }
  }
  const got = (await readBack(gpu, counter, 1))[0]!;
  if (got !== expected) throw new Error(`the tiny dispatches did not all run: counter ${got}, expected ${expected}`);

  const [n0, n1] = counts as [number, number];
  const slope = (a: number, b: number) => ((b - a) / (n1 - n0)) * 1000;
  const summary = MODES.map((mode) => {
    const [a, b] = [rows.find((r) => r.mode === mode && r.n === n0)!, rows.find((r) => r.mode === mode && r.n === n1)!];
    return {
      mode,
      wallUsPerDispatch: slope(a.wallMs, b.wallMs),
      gpuUsPerDispatch: a.gpuMs !== null && b.gpuMs !== null ? slope(a.gpuMs, b.gpuMs) : null,
      encodeUsPerDispatch: slope(a.encodeMs, b.encodeMs),
    };
  });
  const info = gpu.adapterInfo;
  const out = { date: new Date().toISOString(), adapter: info.name, software: info.isSoftware, timing: timed ? 'timestamp-query + wall clock' : 'wall clock', runs, warmup, counts, counterChecked: got, rows, summary };
  if (f.json) {
    console.log(JSON.stringify(out, null, 2));
  } else {
    console.log(`adapter: ${info.name}${info.isSoftware ? ' (software adapter)' : ''}; ${out.timing}; median of ${runs} after ${warmup} warm-up; counter checked (${got} dispatches ran)`);
    console.log('\nmode      N      encode ms   submit→drained ms   GPU span ms   (per dispatch: wall µs / GPU µs)');
    for (const r of rows) {
      console.log(
        `${r.mode.padEnd(8)} ${String(r.n).padStart(5)}  ${r.encodeMs.toFixed(3).padStart(10)}  ${r.wallMs.toFixed(3).padStart(18)}  ${(r.gpuMs === null ? '—' : r.gpuMs.toFixed(3)).padStart(12)}   (${((r.wallMs / r.n) * 1000).toFixed(1)} / ${r.gpuMs === null ? '—' : ((r.gpuMs / r.n) * 1000).toFixed(1)})`,
      );
    }
    console.log(`\nµs per extra dispatch, slope between N = ${n0} and ${n1}:`);
    for (const s of summary) {
      console.log(`  ${s.mode.padEnd(8)} wall ${s.wallUsPerDispatch.toFixed(1).padStart(7)} µs   GPU ${(s.gpuUsPerDispatch === null ? '—' : s.gpuUsPerDispatch.toFixed(1)).padStart(7)} µs   encode ${s.encodeUsPerDispatch.toFixed(1).padStart(6)} µs`);
    }
  }
  querySet?.destroy();
  resolve?.destroy();
  staging?.destroy();
  counter.destroy();
  gpu.destroy();
}

await main();
