// Fused attention tile tuning: every tile config of shaders/attention.wgsl that fits the adapter,
// beside the materialized core (scores, softmax, weighted sums), on the attention core of GPT-3
// (96 heads, n 2048, d_head 128, causal; --quick: 4 heads, n 256, d 64). Same inputs, sampled float64
// check and timing (checked, then timed) as the benchmark's attention suite (bench/suites/common.ts).
//
//   npm run tune -- --attention [--quick] [--runs 5] [--out FILE]      (scripts/run-tune.mjs)
//   node .gpu/attention-tune.mjs [--quick] [--runs 5] [--out FILE]     (on the device machine)
// Results go to stdout and, as JSON, to --out or $OUT/attention-tune.json.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../src/model/engine.js';
import { attentionTileLabel, attentionTileProblem, HARDWARE_ATTENTION_TILES, SOFTWARE_ATTENTION_TILES, subgroupCapsOf, type AttentionTile } from '../../src/kernels/attention.js';
import { createNodeGpu } from '../../src/node/dawn.js';
import { intFlag, parseFlags } from '../../src/cli/args.js';
import { checkThenTime } from '../harness.js';
import { makeInputs, opFlops, type OpCase } from '../inputs.js';
import { prepareOurs } from '../ours.js';
import { allowanceAt, checkIndices, checkOutput, referenceAt } from '../verify.js';

/** Beyond the shipped lists: other row blocks, key blocks and thread widths. */
const EXTRA: AttentionTile[] = [
  { br: 64, bc: 32, tx: 16 }, { br: 32, bc: 64, tx: 16 }, { br: 64, bc: 16, tx: 16 },
  { br: 32, bc: 32, tx: 8 }, { br: 64, bc: 32, tx: 8 }, { br: 16, bc: 32, tx: 8 }, { br: 64, bc: 16, tx: 4 },
];

const FLAGS = { quick: { type: 'boolean' }, runs: { type: 'string' }, out: { type: 'string' }, attention: { type: 'boolean' } } as const;

function parseTuneArgs(argv: string[]) {
  // --attention: the flag that routed here (scripts/run-tune.mjs).
  const f = parseFlags(argv, FLAGS);
  return { quick: !!f.quick, runs: intFlag(f, 'runs') ?? 5, out: (f.out as string | undefined) ?? null };
}

async function main(argv: string[]): Promise<void> {
  const args = parseTuneArgs(argv);
  const engine = await Engine.create(createNodeGpu());
  try {
    const { gpu, cache } = engine;
    const c: Extract<OpCase, { op: 'attention' }> = args.quick ? { op: 'attention', heads: 4, seq: 256, dHead: 64, causal: true } : { op: 'attention', heads: 96, seq: 2048, dHead: 128, causal: true };
    const inputs = makeInputs(c, 1);
    const indices = checkIndices(c, 1);
    const ref = referenceAt(c, inputs, indices);
    const tol = allowanceAt(c, inputs, indices, ref);
    const run = { warmup: 2, runs: args.runs };
    const seen = new Set<string>();
    const tiles = [...HARDWARE_ATTENTION_TILES, ...SOFTWARE_ATTENTION_TILES, ...EXTRA].filter((t) => {
      const key = attentionTileLabel(t);
      if (seen.has(key)) return false;
      seen.add(key);
      return attentionTileProblem(t, c.dHead, gpu.limits, subgroupCapsOf(gpu)) === null;
    });
    console.log(`adapter: ${engine.adapter.name}; attention core ${c.heads} heads, n ${c.seq}, d ${c.dHead}, causal; median of ${args.runs}`);
    const rows: { variant: string; ms: number | null; tflops: number | null; verified: boolean; error?: string }[] = [];
    for (const variant of [null, ...tiles]) {
      const name = variant ? `fused ${attentionTileLabel(variant)}` : 'materialized (3 passes)';
      try {
        const ours = await prepareOurs(gpu, cache, c, inputs, { baseTile: engine.matmulTile, fused: variant !== null, attentionTile: variant ?? undefined });
        try {
          const { check, timing } = await checkThenTime(gpu, name, ours.stages, async () => checkOutput(c, await ours.read(indices), ref, indices, tol), run, ours.reset);
          const ms = timing?.summary.medianMs ?? null;
          rows.push({ variant: name, ms, tflops: ms && opFlops(c) / (ms * 1e9), verified: check.passed });
          console.log(`  ${name.padEnd(28)} ` + (ms ? `${ms.toFixed(3).padStart(9)} ms  ${(opFlops(c) / (ms * 1e9)).toFixed(3)} TFLOP/s  verified` : `WRONG (${check.detail}): not timed`));
        } finally {
          ours.destroy();
        }
      } catch (e) {
        rows.push({ variant: name, ms: null, tflops: null, verified: false, error: (e as Error).message });
        console.log(`  ${name.padEnd(28)} failed: ${(e as Error).message}`);
      }
    }
    const best = rows.filter((r) => r.verified && r.ms !== null).sort((x, y) => x.ms! - y.ms!)[0];
    if (best) console.log(`best: ${best.variant}, ${best.ms!.toFixed(3)} ms`);
    const outPath = args.out ?? (process.env.OUT ? join(process.env.OUT, 'attention-tune.json') : null);
    if (outPath) {
      writeFileSync(outPath, JSON.stringify({ adapter: engine.adapter, shape: c, date: new Date().toISOString(), rows }, null, 2) + '\n');
      console.log(`wrote ${outPath}`);
    }
  } finally {
    engine.destroy();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
