// How close the software-adapter estimate comes to what runs take here: the probe the CLI and the page run
// (src/model/rates.ts: one layer at d_model 512, 4 heads × 128, 16 tokens, run once untimed, then the median of three timed), then
// configurations of increasing width, each run once to compile and once timed, its estimate (before either run)
// beside the timed run's GPU time plus weight generation (what the estimate prices) and its wall time. The probe is
// taken in a fresh engine for each --repeat, so its spread between processes-like starts shows too.
//
//   node bench/run-estimate.mjs [--repeat 3] [--json]
//   (bundles this file into dist/ and runs it)

import { intFlag, parseFlags } from '../src/cli/args.js';
import { resolveConfig, type AttentionConfig } from '../src/model/config.js';
import { Engine } from '../src/model/engine.js';
import { estimateSeconds, measuredRates } from '../src/model/rates.js';
import { createNodeGpu } from '../src/node/dawn.js';

const flags = parseFlags(process.argv.slice(2), { repeat: { type: 'string' }, json: { type: 'boolean' } });
const repeat = intFlag(flags, 'repeat') ?? 3;

/** From the small default past the widths the probe measured, to GPT-3's (one layer: seconds each on lavapipe). */
const CONFIGS: { label: string; cfg: AttentionConfig }[] = [
  { label: 'd_model 1024, 8 × 128, seq 128', cfg: resolveConfig({ layers: 1, heads: 8, dHead: 128, dModel: 1024, seq: 128 }) },
  { label: 'd_model 2048, 16 × 128, seq 400', cfg: resolveConfig({ layers: 1, heads: 16, dHead: 128, dModel: 2048, seq: 400 }) },
  { label: 'd_model 4096, 32 × 128, seq 256', cfg: resolveConfig({ layers: 1, heads: 32, dHead: 128, dModel: 4096, seq: 256 }) },
  { label: 'GPT-3 widths, 1 layer, seq 16', cfg: resolveConfig({ layers: 1, heads: 96, dHead: 128, dModel: 12288, seq: 16, norm: 'layernorm' }) },
];

const rows: Record<string, unknown>[] = [];
for (let r = 0; r < repeat; r++) {
  const engine = await Engine.create(createNodeGpu());
  try {
    const started = performance.now();
    const rates = await measuredRates(engine);
    const probeMs = performance.now() - started;
    const sample = rates.samples[0];
    if (!sample) throw new Error(`the probe measured nothing: ${rates.error}`);
    for (const { label, cfg } of CONFIGS) {
      const estimate = estimateSeconds(rates, cfg)!;
      await engine.run(cfg, { seed: 1 }); // compiles and first-uses this shape's pipelines
      const wallStart = performance.now();
      const run = await engine.run(cfg, { seed: 2 });
      const wallS = (performance.now() - wallStart) / 1000;
      const priced = (run.timings.perLayerMs.reduce((a, b) => a + b, 0) + run.timings.weightsMs) / 1000;
      rows.push({
        repeat: r + 1, label, probeGflops: sample.flopsPerS / 1e9, probeMWeightsPerS: (rates.weightsPerS ?? 0) / 1e6, probeMs,
        estimateS: estimate, gpuAndWeightsS: priced, wallS, ratio: estimate / priced, timings: run.timings.source,
      });
    }
  } finally {
    engine.destroy();
  }
}

if (flags.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log('repeat  probe GFLOP/s  M weights/s  probe ms  configuration                      estimate s  GPU+weights s  wall s  estimate/GPU+weights');
  for (const row of rows) {
    const n = (v: unknown, d: number) => (v as number).toFixed(d);
    console.log(`${String(row.repeat).padEnd(6)}  ${n(row.probeGflops, 2).padStart(13)}  ${n(row.probeMWeightsPerS, 0).padStart(11)}  ${n(row.probeMs, 0).padStart(8)}  ` +
      `${String(row.label).padEnd(33)}  ${n(row.estimateS, 2).padStart(10)}  ${n(row.gpuAndWeightsS, 2).padStart(13)}  ${n(row.wallS, 2).padStart(6)}  ${n(row.ratio, 2).padStart(20)}`);
  }
}
process.exit(0);
