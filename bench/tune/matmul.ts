// Matmul tile tuning: every candidate tile config of shaders/matmul.wgsl on the shapes that matter,
// each output spot-checked against float64 sums on the CPU first, then (if right) timed with timestamp
// queries (wall clock around a drained queue without them), median of the timed runs after warm-up. A timed pass
// repeats the dispatch to last --min-sample-ms (default 20), and Dawn's timestamp quantization
// (2¹⁶ ns steps) is turned off, so short kernels are timed to better than 1%.
//
//   node .gpu/matmul-tune.mjs [--quick] [--shapes 8192,4096,proj,qk,pv] [--runs 5] [--warmup 2]
//        [--candidates default|wide|JSON] [--autotune] [--unsafe] [--budget-s 240] [--min-sample-ms 20]
//        [--out FILE]
//
// Shapes (full size; --quick shrinks each for a software adapter):
//   8192, 4096   square A·B
//   proj         GPT-3 projection x·Wᵀ: [2048 × 12288] · [12288 × 12288]ᵀ
//   qk           96-head scores q·kᵀ/√d, n = 2048, d = 128, causal (masked tiles skipped)
//   pv           96-head weighted sums pattern·v, causal (K limited by the diagonal); the pattern
//                is a real causal softmax of random scores (exact zeros above the diagonal)
//   sq<N>        N³ (e.g. sq512); mm<M>x<N>x<K>[t][b<batch>]: a dense product, t = B transposed,
//                b = that many contiguous products (mm256x512x512t, mm256x64x256b8: the benchmark's rows)
// TFLOP/s counts 2·M·N·K per product; for the causal shapes only the visible part,
// 2·d·n(n+1)/2 per head, as attention benchmarks do.
// --unsafe also times each shape's best config on a device with Dawn's robustness (index clamps)
// and workgroup zero-init turned off: what those safety checks cost, never used by the engine.
// Results go to stdout and, as JSON, to --out or $OUT/matmul-tune.json (rewritten after each shape).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { intFlag, parseFlags } from '../../src/cli/args.js';
import { createStorage, readBack } from '../../src/gpu/buffers.js';
import { GpuContext } from '../../src/gpu/device.js';
import { PipelineCache } from '../../src/gpu/pipelines.js';
import { autotuneMatmul, candidateTiles, spotSample, timeMatmulCandidate, TUNE_CANDIDATES, type SpotCheck, type SpotSample } from '../../src/tune/matmul.js';
import { dispatchOnce, release, type PreparedDispatch } from '../../src/gpu/dispatch.js';
import { prepareFill } from '../../src/kernels/fill_random.js';
import { defaultTileFor, describeTile, tileCaps, usesVec4, type MatmulCall, type MatmulTile, type TiledTile } from '../../src/kernels/matmul.js';
import { prepareSoftmax } from '../../src/kernels/softmax.js';
import { seededSequence } from '../../src/model/seeded.js';
import { createNodeGpu } from '../../src/node/dawn.js';
import { median, quantile } from '../../src/stats.js';

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  transB: boolean;
  batch: number;
  lda: number;
  ldb: number;
  ldc: number;
  batchA: number;
  batchB: number;
  batchC: number;
  alpha: number;
  causal: 'none' | 'skip-masked-tiles' | 'limit-k';
  /** Elements of each buffer. */
  sizes: { a: number; b: number; c: number };
  /** FLOPs reported (the visible part for causal shapes). */
  flops: number;
  /** Make A a causal softmax pattern (pv). */
  pattern?: { heads: number; seq: number };
}

function square(n: number): Shape {
  return { name: `${n}³`, M: n, N: n, K: n, transB: false, batch: 1, lda: n, ldb: n, ldc: n, batchA: 0, batchB: 0, batchC: 0, alpha: 1, causal: 'none', sizes: { a: n * n, b: n * n, c: n * n }, flops: 2 * n ** 3 };
}

function projection(seq: number, dModel: number): Shape {
  return {
    name: `proj ${seq}x${dModel}·[${dModel}x${dModel}]ᵀ`, M: seq, N: dModel, K: dModel, transB: true, batch: 1, lda: dModel, ldb: dModel, ldc: dModel,
    batchA: 0, batchB: 0, batchC: 0, alpha: 1, causal: 'none', sizes: { a: seq * dModel, b: dModel * dModel, c: seq * dModel }, flops: 2 * seq * dModel * dModel,
  };
}

function scores(heads: number, n: number, d: number): Shape {
  const inner = heads * d;
  return {
    name: `qk ${heads}h n${n} d${d} causal`, M: n, N: n, K: d, transB: true, batch: heads, lda: inner, ldb: inner, ldc: n, batchA: d, batchB: d, batchC: n * n,
    alpha: 1 / Math.sqrt(d), causal: 'skip-masked-tiles', sizes: { a: n * inner, b: n * inner, c: heads * n * n }, flops: heads * d * n * (n + 1),
  };
}

function weighted(heads: number, n: number, d: number): Shape {
  const inner = heads * d;
  return {
    name: `pv ${heads}h n${n} d${d} causal`, M: n, N: d, K: n, transB: false, batch: heads, lda: n, ldb: inner, ldc: inner, batchA: n * n, batchB: d, batchC: d,
    alpha: 1, causal: 'limit-k', sizes: { a: heads * n * n, b: n * inner, c: n * inner }, flops: heads * d * n * (n + 1), pattern: { heads, seq: n },
  };
}

/**
 * A dense product by name: `sq512` (512³), `mm<M>x<N>x<K>[t][b<batch>]` (t: B transposed; b: that
 * many products, batches contiguous), e.g. `mm256x512x512t` or `mm256x64x256b8`: the benchmark's
 * software rows (bench/scale.ts), timed like the named shapes.
 */
function denseShape(key: string): Shape | null {
  const sq = /^sq(\d+)$/.exec(key);
  if (sq) return square(Number(sq[1]));
  const mm = /^mm(\d+)x(\d+)x(\d+)(t?)(?:b(\d+))?$/.exec(key);
  if (!mm) return null;
  const [M, N, K] = [Number(mm[1]), Number(mm[2]), Number(mm[3])];
  const transB = mm[4] === 't';
  const batch = Number(mm[5] ?? 1);
  return {
    name: `${batch > 1 ? `${batch}×` : ''}[${M}x${K}]·[${transB ? `${N}x${K}]ᵀ` : `${K}x${N}]`}`, M, N, K, transB, batch, lda: K, ldb: transB ? K : N, ldc: N,
    batchA: M * K, batchB: K * N, batchC: M * N, alpha: 1, causal: 'none', sizes: { a: batch * M * K, b: batch * K * N, c: batch * M * N }, flops: 2 * M * N * K * batch,
  };
}

const SHAPES: Record<string, (quick: boolean) => Shape> = {
  '8192': (q) => square(q ? 256 : 8192),
  '4096': (q) => square(q ? 128 : 4096),
  proj: (q) => (q ? projection(128, 384) : projection(2048, 12288)),
  qk: (q) => (q ? scores(4, 200, 32) : scores(96, 2048, 128)),
  pv: (q) => (q ? weighted(4, 200, 32) : weighted(96, 2048, 128)),
};

/** Beyond the autotuner's list: tile shapes, K steps, stages, group order, load variants. */
const WIDE: MatmulTile[] = ([
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2, vec4: false },
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2, groupM: 1 },
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 2, groupM: 16 },
  { wgX: 16, wgY: 16, tk: 8, rb: 8, stages: 1 },
  { wgX: 16, wgY: 16, tk: 4, rb: 8, stages: 2 },
  { wgX: 16, wgY: 16, tk: 16, rb: 8, stages: 2 },
  { wgX: 16, wgY: 16, tk: 16, rb: 8, stages: 2, vec4: false },
  { wgX: 16, wgY: 16, tk: 16, rb: 8, stages: 1 },
  { wgX: 16, wgY: 16, tk: 32, rb: 8, stages: 1 },
  { wgX: 32, wgY: 8, tk: 8, rb: 8, stages: 2 },
  { wgX: 8, wgY: 32, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 8, tk: 8, rb: 8, stages: 2 },
  { wgX: 8, wgY: 16, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 8, tk: 16, rb: 8, stages: 2 },
  { wgX: 32, wgY: 16, tk: 8, rb: 8, stages: 2 },
  { wgX: 16, wgY: 32, tk: 8, rb: 8, stages: 2 },
  { wgX: 8, wgY: 8, tk: 16, rb: 8, stages: 2 },
  { wgX: 16, wgY: 16, tk: 16, rb: 4, stages: 2 },
  { wgX: 16, wgY: 16, tk: 8, rb: 4, stages: 2 },
  { wgX: 32, wgY: 16, tk: 8, rb: 4, stages: 2 },
  { wgX: 32, wgY: 32, tk: 8, rb: 4, stages: 2 },
] as TiledTile[]).map((t): MatmulTile => ({ vec4: true, groupM: 8, ...t })).concat([{ kernel: 'shuffle' }]);

const FLAGS = {
  quick: { type: 'boolean' }, shapes: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' },
  candidates: { type: 'string' }, autotune: { type: 'boolean' }, unsafe: { type: 'boolean' },
  'budget-s': { type: 'string' }, 'min-sample-ms': { type: 'string' }, out: { type: 'string' },
} as const;

function parseTuneArgs(argv: string[]) {
  const f = parseFlags(argv, FLAGS);
  const args = {
    quick: !!f.quick,
    shapes: f.shapes === undefined ? Object.keys(SHAPES) : String(f.shapes).split(','),
    runs: intFlag(f, 'runs') ?? 5,
    warmup: intFlag(f, 'warmup') ?? 2,
    candidates: (f.candidates as string | undefined) ?? 'default',
    autotune: !!f.autotune,
    unsafe: !!f.unsafe,
    budgetS: intFlag(f, 'budget-s') ?? 240,
    minSampleMs: intFlag(f, 'min-sample-ms', { min: 0 }) ?? 20,
    out: (f.out as string | undefined) ?? null,
  };
  for (const s of args.shapes) if (!SHAPES[s] && !denseShape(s)) throw new Error(`unknown shape ${s} (known: ${Object.keys(SHAPES).join(', ')}, sq<N>, mm<M>x<N>x<K>[t][b<batch>])`);
  return args;
}
type Args = ReturnType<typeof parseTuneArgs>;

interface Row {
  shape: string;
  tile: string;
  config: MatmulTile;
  vec4Used: boolean;
  /** Dispatches per timed pass (see src/gpu/timing.ts, minSampleMs). */
  repeat?: number;
  device: 'default' | 'unsafe (no robustness, no workgroup init)';
  medianMs: number | null;
  p10Ms: number | null;
  p90Ms: number | null;
  tflops: number | null;
  check: Omit<SpotCheck, 'detail'> | null;
  error?: string;
}

class ShapeData {
  owned: GPUBuffer[] = [];
  a!: GPUBuffer;
  b!: GPUBuffer;
  c!: GPUBuffer;
  samples: SpotSample[] = [];

  constructor(
    readonly gpu: GpuContext,
    readonly cache: PipelineCache,
    readonly s: Shape,
  ) {}

  async init(seed: number): Promise<void> {
    const { gpu, cache, s } = this;
    const alloc = (n: number, label: string) => {
      const b = createStorage(gpu, n, label);
      this.owned.push(b);
      return b;
    };
    this.a = alloc(s.sizes.a, 'A');
    this.b = alloc(s.sizes.b, 'B');
    this.c = alloc(s.sizes.c, 'C');
    const prepared: PreparedDispatch[] = [];
    // Binding-size limits: fill in chunks of whole 64-float blocks.
    const chunk = Math.floor(gpu.limits.maxStorageBufferBindingSize / 256) * 64;
    for (const [buffer, count, key, scale] of [[this.a, s.sizes.a, seed, s.pattern ? 4 : 1], [this.b, s.sizes.b, seed + 1, 1]] as const) {
      for (let offset = 0; offset < count; offset += chunk) {
        const n = Math.min(chunk, count - offset);
        prepared.push(await prepareFill(gpu, cache, { label: 'fill', out: { buffer, offset: offset * 4, size: n * 4 }, key, count: n, scale, offset }));
      }
    }
    if (s.pattern) {
      prepared.push(await prepareSoftmax(gpu, cache, { label: 'pattern', scores: { buffer: this.a }, rows: s.pattern.heads * s.pattern.seq, cols: s.K, seq: s.pattern.seq, causal: true }));
    }
    try {
      await dispatchOnce(gpu, 'filling inputs', prepared);
    } finally {
      release(prepared);
    }

    // Samples: corners, the last batch, random spots; for masked scores only visible ones.
    const next = seededSequence(seed);
    const rand = (n: number) => Math.floor(next() * n);
    const picks: [number, number, number][] = [[0, 0, 0], [s.batch - 1, s.M - 1, s.N - 1], [0, s.M - 1, 0]];
    while (picks.length < 8) picks.push([rand(s.batch), rand(s.M), rand(s.N)]);
    let fullB: Float32Array | null = null;
    for (const [z, m, n0] of picks) {
      const n = s.causal === 'skip-masked-tiles' ? Math.min(n0, m) : n0;
      const kEnd = s.causal === 'limit-k' ? Math.min(s.K, m + 1) : s.K;
      const aRow = await readBack(gpu, this.a, s.K, z * s.batchA + m * s.lda);
      let bAt: (k: number) => number;
      if (s.transB) {
        const bRow = await readBack(gpu, this.b, s.K, z * s.batchB + n * s.ldb);
        bAt = (k) => bRow[k]!;
      } else {
        fullB ??= await readBack(gpu, this.b, s.sizes.b);
        const B = fullB;
        bAt = (k) => B[z * s.batchB + k * s.ldb + n]!;
      }
      this.samples.push(spotSample(z * s.batchC + m * s.ldc + n, (k) => aRow[k]!, bAt, kEnd, s.alpha));
    }
  }

  call(tile: MatmulTile): MatmulCall {
    const s = this.s;
    return {
      label: `${s.name} ${describeTile(tile)}`, M: s.M, N: s.N, K: s.K, transB: s.transB, batch: s.batch,
      a: { buffer: this.a }, b: { buffer: this.b }, c: { buffer: this.c },
      lda: s.lda, ldb: s.ldb, ldc: s.ldc, batchA: s.batchA, batchB: s.batchB, batchC: s.batchC, alpha: s.alpha, causal: s.causal, tile,
    };
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

async function timeCandidate(gpu: GpuContext, cache: PipelineCache, data: ShapeData, tile: MatmulTile, args: Args, device: Row['device']): Promise<Row> {
  const call = data.call(tile);
  const base = { shape: data.s.name, tile: describeTile(tile), config: tile, vec4Used: usesVec4(call), device };
  const failed = { medianMs: null, p10Ms: null, p90Ms: null, tflops: null };
  // The autotuner's own candidate run (src/tune/matmul.ts): prepared, C poisoned, spot-checked, then timed.
  const r = await timeMatmulCandidate(gpu, cache, call, data.samples, { warmup: args.warmup, runs: args.runs, minSampleMs: args.minSampleMs });
  const check = r.check && { samples: r.check.samples, worstRatio: r.check.worstRatio, passed: r.check.passed };
  if (r.error !== undefined) return { ...base, ...failed, check: null, error: r.error };
  const t = r.timing;
  if (!t) return { ...base, ...failed, check };
  const ms = median(t.ms);
  return { ...base, repeat: t.repeat, medianMs: ms, p10Ms: quantile(t.ms, 0.1), p90Ms: quantile(t.ms, 0.9), tflops: data.s.flops / (ms * 1e9), check };
}

const fmt = (r: Row) =>
  r.error || !r.check?.passed
    ? `  ${r.tile.padEnd(44)} ${r.error ? `ERROR ${r.error}` : `check FAILED (${r.check!.worstRatio.toExponential(1)} of tol): not timed`}`
    : `  ${r.tile.padEnd(44)} ${r.medianMs!.toFixed(3).padStart(9)} ms  p10 ${r.p10Ms!.toFixed(3)} p90 ${r.p90Ms!.toFixed(3)}  ${r.tflops!.toFixed(r.tflops! < 1 ? 4 : 2).padStart(6)} TFLOP/s` +
      `${r.repeat && r.repeat > 1 ? ` ×${r.repeat}` : ''}${r.vec4Used ? '' : ' (scalar loads)'}  check ok (${r.check!.worstRatio.toExponential(1)} of tol)${r.device === 'default' ? '' : '  [unsafe device]'}`;

async function main(): Promise<void> {
  const args = parseTuneArgs(process.argv.slice(2));
  const started = performance.now();
  const gpu = await GpuContext.create(createNodeGpu(['disable-dawn-features=timestamp_quantization']));
  const cache = new PipelineCache(gpu);
  const info = gpu.adapterInfo;
  const timing = gpu.hasTimestamps ? 'timestamp-query' : 'wall-clock (drained queue)';
  console.log(`adapter: ${info.name}${info.isSoftware ? ' (software adapter)' : ''} [${[info.vendor, info.architecture, info.device, info.description].join(' | ')}]`);
  console.log(`timing: ${timing}; warm-up ${args.warmup}, median of ${args.runs}; workgroup storage ${gpu.limits.maxComputeWorkgroupStorageSize} B, ${gpu.limits.maxComputeInvocationsPerWorkgroup} invocations`);
  const pool = args.candidates === 'wide' ? WIDE : args.candidates === 'default' ? TUNE_CANDIDATES : (JSON.parse(args.candidates) as MatmulTile[]);
  const candidates = candidateTiles(gpu.limits, pool, tileCaps(gpu));
  const outPath = args.out ?? (process.env.OUT ? join(process.env.OUT, 'matmul-tune.json') : null);
  const result = {
    date: new Date().toISOString(),
    adapter: info,
    timing,
    args,
    limits: { workgroupStorage: gpu.limits.maxComputeWorkgroupStorageSize, invocations: gpu.limits.maxComputeInvocationsPerWorkgroup, maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize },
    defaultTile: defaultTileFor(gpu),
    rows: [] as Row[],
    best: {} as Record<string, Row>,
    autotune: null as unknown,
    elapsedS: 0,
  };
  const save = () => {
    result.elapsedS = (performance.now() - started) / 1000;
    if (outPath) writeFileSync(outPath, JSON.stringify(result, null, 2));
  };

  let unsafe: { gpu: GpuContext; cache: PipelineCache } | null = null;
  if (args.unsafe) {
    const u = await GpuContext.create(createNodeGpu(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,disable_robustness,disable_workgroup_init', 'disable-dawn-features=timestamp_quantization']));
    unsafe = { gpu: u, cache: new PipelineCache(u) };
  }

  for (const key of args.shapes) {
    const shape = SHAPES[key]?.(args.quick) ?? denseShape(key)!;
    console.log(`\n${shape.name}: M ${shape.M} N ${shape.N} K ${shape.K} batch ${shape.batch}${shape.transB ? ' transB' : ''} ${shape.causal}; ${(shape.flops / 1e12).toFixed(3)} TFLOP counted`);
    const data = new ShapeData(gpu, cache, shape);
    try {
      await data.init(7);
      for (const tile of candidates) {
        if ((performance.now() - started) / 1000 > args.budgetS) {
          console.log(`  (time budget of ${args.budgetS} s spent: remaining candidates skipped)`);
          break;
        }
        const row = await timeCandidate(gpu, cache, data, tile, args, 'default');
        result.rows.push(row);
        console.log(fmt(row));
      }
      const ok = result.rows.filter((r) => r.shape === shape.name && r.device === 'default' && r.check?.passed);
      const best = ok.reduce<Row | null>((x, y) => (!x || y.medianMs! < x.medianMs! ? y : x), null);
      if (best) {
        result.best[shape.name] = best;
        if (unsafe) {
          const u = new ShapeData(unsafe.gpu, unsafe.cache, shape);
          try {
            await u.init(7);
            const row = await timeCandidate(unsafe.gpu, unsafe.cache, u, best.config, args, 'unsafe (no robustness, no workgroup init)');
            result.rows.push(row);
            console.log(fmt(row));
          } finally {
            u.destroy();
          }
        }
      }
    } finally {
      data.destroy();
    }
    save();
  }

  if (args.autotune) {
    const lines: string[] = [];
    const r = await autotuneMatmul(gpu, cache, { tune: true, retune: true, log: (l) => lines.push(l) });
    result.autotune = { ...r, tile: describeTile(r.tile), config: r.tile };
    console.log(`\nautotune (${r.shape ? `${r.shape.M}x${r.shape.N}x${r.shape.K}${r.shape.transB ? ' transB' : ''}` : ''}, ${r.timing}): ${describeTile(r.tile)} in ${((r.tuneMs ?? 0) / 1000).toFixed(1)} s`);
    for (const l of lines) console.log(`  ${l}`);
  }

  console.log(`\nbest per shape (${timing}, ${result.date}, ${info.name}):`);
  for (const [shape, r] of Object.entries(result.best)) console.log(`  ${shape.padEnd(32)} ${fmt(r).trim()}`);
  save();
  if (outPath) console.log(`\nwrote ${outPath} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
  unsafe?.gpu.destroy();
  gpu.destroy();
}

await main();
