// The benchmark: `npm run bench -- [--quick] [--json] [--plot FILE.svg] [--suite …] [--peers …] [--runs N]
// [--precision f32,f16]`. Our kernels and engine on this machine's WebGPU adapter (Dawn), side by side with
// tfjs-webgpu and jax-js (same process, same adapter), onnxruntime-webgpu (a child process that can be killed
// if it hangs) and the float64 CPU reference, on the same shapes and inputs, in f32 and f16 storage; every
// output verified in the run. See USAGE.

import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/model/engine.js';
import { createNodeGpu } from '../src/node/dawn.js';
import { defaultTuneStore } from '../src/node/tune-store.js';
import { describeTile } from '../src/kernels/matmul.js';
import { ArgsError, parseArgs, USAGE, type SuiteName } from './args.js';
import { peakFor } from './metrics.js';
import { measurePeak } from './peak.js';
import { renderPlot } from './plot.js';
import { addSpeedups, formatNotes, formatTable, toJson, type BenchRecord } from './report.js';
import { chooseScale } from './scale.js';
import { OrtRemote } from './peers/ort-remote.js';
import { createTfjsPeer } from './peers/tfjs.js';
import { loadJaxPeer } from './peers/jax.js';
import { withTimeout } from './peers/timeout.js';
import type { Peer, PeerPrecision } from './peers/types.js';
import { oursF16 } from './suites/ours-f16.js';
import type { BenchContext, PeerSlot } from './suites/common.js';
import { attentionSuite } from './suites/attention.bench.js';
import { layerSuite, stackSuite } from './suites/layer.bench.js';
import { matmulSuite } from './suites/matmul.bench.js';
import { softmaxSuite } from './suites/softmax.bench.js';
import { weightedSuite } from './suites/weighted.bench.js';
import { decodeSuite } from './suites/decode.bench.js';

const SUITE_RUNNERS: Record<SuiteName, (ctx: BenchContext) => Promise<BenchRecord[]>> = {
  matmul: matmulSuite,
  softmax: softmaxSuite,
  weighted: weightedSuite,
  attention: attentionSuite,
  layer: layerSuite,
  stack: stackSuite,
  decode: decodeSuite,
};

/** Reference work (multiply-adds) timed as the cpu-reference impl: about 10–50 ms per run in JS. */
const CPU_LIMIT = 2 ** 24;

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  // With --json, stdout holds only the JSON: every log (ours and the libraries') goes to stderr.
  if (args.json) console.log = console.info = console.debug = console.error;
  const log = (message: string) => console.error(`[bench] ${message}`);
  const started = performance.now();

  const gpuApi = createNodeGpu();
  const engine = await Engine.create(gpuApi);
  const info = engine.adapter;
  const adapter = info.isSoftware ? `${info.name} (software adapter)` : info.name;
  const known = args.measurePeak ? null : peakFor([info.vendor, info.architecture, info.device, info.description].join(' '));
  const peak = known ?? (await measurePeak(engine.gpu, engine.cache, info.isSoftware));
  log(`peak: ${peak.source}`);
  const scale = chooseScale(info.isSoftware, args.quick);
  const run = { warmup: args.warmup ?? (info.isSoftware && args.quick ? 1 : 3), runs: args.runs };
  const peerTimeoutMs = (args.peerTimeoutS ?? (info.isSoftware ? (args.quick ? 30 : 180) : 300)) * 1000;
  const tuning = await engine.tuneMatmul({ tune: args.tune, store: defaultTuneStore('matmul'), log: (l) => log(l) });
  const matmulTile = `${describeTile(tuning.tile)} (${tuning.source})`;
  log(`matmul tile config: ${matmulTile}, fitted to each product's shape`);
  // The stack suite runs the engine's own attention choice: timed here like `run` does.
  const attention = await engine.tuneAttention(scale.model.dHead, { tune: args.tune, store: defaultTuneStore('attention') });
  if (attention.mode) {
    const timed = attention.source === 'tuned' ? ` (materialized ${attention.materializedMs!.toFixed(2)} ms, fused ${attention.fusedMs!.toFixed(2)} ms per layer)` : '';
    log(`attention core for d_head ${scale.model.dHead}: ${attention.mode}, ${attention.source}${timed}`);
  }
  log(`adapter: ${adapter}; timestamps: ${engine.gpu.hasTimestamps ? 'yes' : 'no (wall clock)'}; shapes: ${scale.label}; ${run.warmup} warm-up + ${run.runs} timed runs`);

  // Peers load before anything is timed (ORT's child would otherwise share the CPU with our runs).
  const [tfjs, ort, jax] = await Promise.all([
    args.peers.includes('tfjs') ? loadTfjs(gpuApi, adapter, peerTimeoutMs) : null,
    args.peers.includes('ort') ? loadOrt(adapter, peerTimeoutMs) : null,
    args.peers.includes('jax') ? loadJax(gpuApi, adapter, peerTimeoutMs) : null,
  ]);
  for (const [name, slot] of [['tfjs-webgpu', tfjs], ['onnxruntime-webgpu', ort], ['jax-js-webgpu', jax]] as const) {
    if (slot) log(slot.peer ? `${name}: loaded (${slot.peer instanceof OrtRemote ? slot.peer.description : slot.peer.adapterDescription()})` : `${name}: not available (${slot.unavailable})`);
  }
  const f16 = oursF16(engine.gpu);
  if (args.precisions.includes('f16')) log(`ours in f16: ${f16.available ? 'yes' : `not available (${f16.reason})`}`);

  const cpus = os.cpus();
  const ctx: BenchContext = {
    engine, adapter, peak, scale, run, peerTimeoutMs, tfjs, ort, jax,
    precisions: args.precisions,
    oursF16: f16,
    cpuName: `${cpus[0]?.model.trim() ?? 'cpu'} (float64 JS, 1 thread)`,
    seed: args.seed,
    cpuLimit: args.peers.includes('cpu') ? CPU_LIMIT : 0,
    log,
  };
  const suites = args.suites ?? Object.keys(SUITE_RUNNERS).filter((s) => s !== 'decode' && (s !== 'stack' || scale.stackByDefault));
  const records: BenchRecord[] = [];
  try {
    for (const suite of suites) {
      records.push(...(await SUITE_RUNNERS[suite as SuiteName](ctx)));
      // On a GPU the shapes are big: a fresh ORT process per suite returns what its buffer cache holds.
      if (!info.isSoftware) await ort?.peer?.close();
    }
  } finally {
    await ort?.peer?.close();
    await tfjs?.peer?.dispose().catch(() => undefined);
    await jax?.peer?.dispose().catch(() => undefined);
    engine.destroy();
  }
  addSpeedups(records);

  if (args.json) process.stdout.write(toJson(records) + '\n');
  else {
    console.log(`\nwebgpu-attention benchmark — ${adapter}; ${scale.label}; ${run.warmup} warm-up + ${run.runs} timed runs; matmul ${matmulTile}\n`);
    console.log(formatTable(records));
    console.log('\n' + formatNotes(records, adapter, peak));
  }
  if (args.jsonFile) {
    writeFileSync(args.jsonFile, toJson(records) + '\n');
    log(`JSON written to ${args.jsonFile}`);
  }
  if (args.plot) {
    writeFileSync(args.plot, renderPlot(records.filter((r) => r.precision !== 'f16'), `f32 square matmul — ${info.name}`));
    log(`plot written to ${args.plot}`);
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // Not available (our f16 rows where our f16 kernels or shader-f16 are missing) is reported, not a failure.
  const ours = records.filter((r) => r.impl === 'webgpu-attention' && r.status !== 'not available');
  const bad = ours.filter((r) => !r.verified);
  if (bad.length) log(`${bad.length} of our ${ours.length} measurements failed verification or did not run`);
  return bad.length ? 1 : 0;
}

async function loadTfjs(gpu: GPU, adapter: string, timeoutMs: number): Promise<PeerSlot<Peer>> {
  const peer = createTfjsPeer(gpu);
  try {
    await withTimeout(peer.init(), timeoutMs, 'loading tfjs-webgpu');
    return { peer, unavailable: null, adapter };
  } catch (e) {
    return { peer: null, unavailable: (e as Error).message, adapter };
  }
}

async function loadJax(gpu: GPU, adapter: string, timeoutMs: number): Promise<PeerSlot<Peer>> {
  const { peer, unavailable } = await loadJaxPeer(gpu, timeoutMs);
  return { peer, unavailable, adapter };
}

async function loadOrt(adapter: string, timeoutMs: number): Promise<PeerSlot<OrtRemote>> {
  // ORT runs its own Dawn inside libonnxruntime and does not say which adapter it took; on a machine with one
  // GPU (or only lavapipe) it is this one.
  const ortAdapter = `${adapter} (ORT's own Dawn; adapter assumed)`;
  const remote = new OrtRemote(new URL('./ort-child.mjs', import.meta.url), timeoutMs);
  try {
    await remote.start();
    return { peer: remote, unavailable: null, adapter: ortAdapter };
  } catch (e) {
    return { peer: null, unavailable: (e as Error).message, adapter: ortAdapter };
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof ArgsError ? e.message : e);
    process.exitCode = 2;
  },
);
