// Decode kernel variants side by side in one process, for comparisons a loaded machine would blur across
// processes: each variant is a WGSL file with shaders/decode.wgsl's bindings, Params and entry points, its
// thread shape and split count (and extra preprocessor flags); all are timed round-robin (rounds × runs GPU
// samples each, the variants alternated) beside bench/peak.wgsl's copy probe (64 MiB a side, as bench/peak.ts).
// The host's shared pieces (shaders/kv_words.wgsl) are appended to a file that does not define fetchK itself.
// One cache of seeded values, [heads, n, d], one window; `v4` always on (d a multiple of 4).
// Each output is first compared with float64 (|error| within 1e-4 of the output's RMS, f16 plus one rounding): a
// sanity check that a variant computes the step, not the kernel's judge (test/kernels/decode.test.ts and
// the decode suite's derived allowances are).
//   node bench/run-decode-variants.mjs [--n 32768] [--heads 8] [--d 64] [--precision f32|f16] [--rounds 5]
//     [--runs 3] --variants 'NAME=FILE.wgsl:W:G:SPLITS[:FLAG+FLAG],…'
//   e.g. --precision f16 --variants 'before=/tmp/old.wgsl:8:8:2,after=shaders/decode.wgsl:8:8:2:h4'

import { readFileSync } from 'node:fs';
import peakSource from './peak.wgsl';
import { parseFlags, intFlag } from '../src/cli/args.js';
import { createStorage, createUniform, packUniform, readBack, upload } from '../src/gpu/buffers.js';
import { GpuContext } from '../src/gpu/device.js';
import { PipelineCache } from '../src/gpu/pipelines.js';
import { timeStages } from '../src/gpu/timing.js';
import { bindGroup, type PreparedDispatch } from '../src/gpu/dispatch.js';
import { decodeKernelSource } from '../src/kernels/decode.js';
import { roundArrayToF16 } from '../src/io/half.js';
import { seededSequence } from '../src/model/seeded.js';
import { createNodeGpu } from '../src/node/dawn.js';
import { median } from '../src/stats.js';

const FLAGS = { n: { type: 'string' }, heads: { type: 'string' }, d: { type: 'string' }, rounds: { type: 'string' }, runs: { type: 'string' }, variants: { type: 'string' }, precision: { type: 'string' } } as const;

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS);
  const n = intFlag(f, 'n') ?? 32768;
  const heads = intFlag(f, 'heads') ?? 8;
  const d = intFlag(f, 'd') ?? 64;
  const rounds = intFlag(f, 'rounds') ?? 5;
  const runs = intFlag(f, 'runs') ?? 3;
  const precision = (f.precision as string | undefined) === 'f16' ? 'f16' : 'f32';
  const bytes = precision === 'f16' ? 2 : 4;
  const specs = String(f.variants ?? (precision === 'f16' ? 'ours=shaders/decode.wgsl:8:8:2:h4' : 'ours=shaders/decode.wgsl:8:8:2')).split(',').map((s) => {
    const [name, rest] = s.split('=');
    const [file, W, G, splits, extra] = rest!.split(':');
    return { name: name!, file: file!, W: Number(W), G: Number(G), splits: Number(splits), extra: extra ? extra.split('+') : [] };
  });
  const gpu = await GpuContext.create(createNodeGpu());
  const cache = new PipelineCache(gpu);
  const rand = seededSequence(7);
  const rnd = (len: number) => Float32Array.from({ length: len }, () => 2 * rand() - 1);
  // f16: the values rounded to f16 first, so the float64 reference sees what the kernel reads
  const values = (len: number) => (precision === 'f16' ? roundArrayToF16(rnd(len)) : rnd(len));
  const q = values(heads * d);
  const k = values(heads * n * d);
  const v = values(heads * n * d);
  const qB = upload(gpu, q, 'q', precision);
  const kB = upload(gpu, k, 'k', precision);
  const vB = upload(gpu, v, 'v', precision);
  // float64 reference, [heads, n, d]
  const want = new Float64Array(heads * d);
  const scale = 1 / Math.sqrt(d);
  for (let h = 0; h < heads; h++) {
    const s = new Float64Array(n);
    let m = -Infinity;
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let c = 0; c < d; c++) x += q[h * d + c]! * k[(h * n + j) * d + c]!;
      s[j] = x * scale;
      m = Math.max(m, s[j]!);
    }
    let l = 0;
    for (let j = 0; j < n; j++) l += (s[j] = Math.exp(s[j]! - m));
    for (let j = 0; j < n; j++) for (let c = 0; c < d; c++) want[h * d + c]! += (s[j]! / l) * v[(h * n + j) * d + c]!;
  }

  const items: { name: string; stages: { name: string; dispatches: PreparedDispatch[] }[]; ms: number[]; gb: number }[] = [];
  for (const sp of specs) {
    // What the host appends (shaders/kv_words.wgsl), unless the file has its own fetchK (a copy of an older decode.wgsl).
    const text = readFileSync(sp.file, 'utf8');
    const src = /\bfn fetchK\b/.test(text) ? text : decodeKernelSource(text);
    const streams = sp.W / sp.G;
    const words = Math.ceil(d / 4 / sp.G);
    const flags = [...(precision === 'f16' ? ['f16'] : []), ...(sp.G > 1 ? ['sub'] : []), 'v4', ...sp.extra];
    const constants = { W: sp.W, G: sp.G, WORDS: words };
    const split = await cache.get({ name: `decode-${sp.name}`, source: src, flags, constants, entryPoint: 'split' });
    const comb = await cache.get({ name: `decode-${sp.name}`, source: src, flags, constants, entryPoint: 'combine' });
    const step = streams * 4;
    const chunk = Math.ceil(Math.ceil(n / sp.splits) / step) * step;
    const used = Math.ceil(n / chunk);
    const slots = used;
    const partial = createStorage(gpu, heads * slots * streams * (d + 2) + 16, 'partial');
    const out = createStorage(gpu, heads * d, 'out', precision);
    const pack = (u: number) => packUniform([{ u32: n }, { u32: d }, { u32: n }, { u32: chunk }, { u32: 0 }, { u32: 0 }, { u32: n }, { u32: 0 }, { u32: slots }, { u32: u }, { u32: 0 }, { u32: 0 }, { u32: 0 }, { f32: scale }]);
    const u1 = createUniform(gpu, new Array(14).fill({ u32: 0 }), 'u1');
    const u2 = createUniform(gpu, new Array(14).fill({ u32: 0 }), 'u2');
    gpu.device.queue.writeBuffer(u1, 0, pack(0));
    gpu.device.queue.writeBuffer(u2, 0, pack(used));
    const sd: PreparedDispatch = { label: `${sp.name} split`, pipeline: split, bindGroup: bindGroup(gpu, split, 's', [qB, kB, vB, partial, u1]), grid: [used, heads, 1], owned: [] };
    const cd: PreparedDispatch = {
      label: `${sp.name} combine`, pipeline: comb, grid: [heads, 1, 1], owned: [],
      bindGroup: gpu.device.createBindGroup({ layout: comb.getBindGroupLayout(0), entries: [{ binding: 3, resource: { buffer: partial } }, { binding: 4, resource: { buffer: u2 } }, { binding: 5, resource: { buffer: out } }] }),
    };
    const stages = [{ name: sp.name, dispatches: [sd, cd] }];
    await timeStages(gpu, sp.name, stages, { warmup: 1, runs: 1 });
    const got = await readBack(gpu, out, heads * d, 0, precision);
    // |error| within 1e-4 of the output's RMS, plus (f16) one rounding of the element to f16 (2⁻¹¹ relative)
    let rms = 0;
    for (const w of want) rms += w * w;
    rms = Math.sqrt(rms / want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const allowed = 1e-4 * rms + (precision === 'f16' ? 2 ** -11 * Math.abs(want[i]!) : 0);
      worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / allowed);
    }
    console.log(`${sp.name}: ${used} splits × ${heads} heads, chunk ${chunk}, worst error ${worst.toFixed(2)} of its allowance ${worst <= 1 ? 'ok' : 'WRONG'}`);
    if (!(worst <= 1)) process.exitCode = 1;
    items.push({ name: sp.name, stages, ms: [], gb: (2 * heads * n * d * bytes) / 1e9 });
  }
  // copy probe, as bench/peak.ts: 64 MiB a side
  const pw = (64 * 2 ** 20) / 16;
  const src = createStorage(gpu, pw * 4, 'src');
  const dst = createStorage(gpu, pw * 4, 'dst');
  const groups = Math.min(4096, Math.ceil(pw / 256));
  const cp = await cache.get({ name: 'peak', source: peakSource, entryPoint: 'copyProbe', constants: { WG: 256, ITERS: 1 } });
  const cu = createUniform(gpu, [{ u32: pw }, { u32: 256 * groups }], 'cu');
  items.push({ name: 'copy probe', stages: [{ name: 'copy', dispatches: [{ label: 'copy', pipeline: cp, bindGroup: bindGroup(gpu, cp, 'c', [src, dst, cu]), grid: [groups, 1, 1], owned: [] }] }], ms: [], gb: (2 * pw * 16) / 1e9 });

  for (let r = 0; r < rounds; r++) {
    for (const it of items) it.ms.push(...(await timeStages(gpu, it.name, it.stages, { warmup: 1, runs })).ms);
  }
  const copy = items.at(-1)!;
  const copyGbps = copy.gb / (median(copy.ms) / 1e3);
  for (const it of items) {
    const med = median(it.ms);
    const gbps = it.gb / (med / 1e3);
    console.log(`${it.name.padEnd(14)} median ${med.toFixed(2).padStart(8)} ms  min ${Math.min(...it.ms).toFixed(2).padStart(8)}  max ${Math.max(...it.ms).toFixed(2).padStart(8)}  ${gbps.toFixed(2)} GB/s  ${((100 * gbps) / copyGbps).toFixed(0)} % of copy`);
  }
  gpu.device.destroy();
}

await main();
