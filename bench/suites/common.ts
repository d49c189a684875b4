// One operation side by side: ours, then each selected peer on the same inputs in the same process (ORT in
// its child process), then the float64 CPU reference where it is small enough; every output checked against
// float64 values before its time is reported (ours: checked before it is timed, a wrong output not timed).
// Then, with f16 among the precisions, the same again on the inputs rounded to f16 (bench/suites/f16.ts):
// ours with f16 storage where our kernels and the adapter have it, each peer in float16 where it has it
// (else a "not available" row with the reason), checked against float64 from the rounded inputs. Every row,
// ours and the peers', is judged by the same derived allowance (bench/verify.ts allowanceAt).
// Bandwidth-bound ops (no FLOPs counted: decode, softmax): our row takes the copy probe right before and right after
// its timing, at its own bytes (bench/copy-probe.ts), and its % is of that probe (bench/metrics.ts besideFraction); the
// peers' rows keep the run-level peak. f16 rows are measured against memory bandwidth as f32 rows are.

import type { Engine } from '../../src/model/engine.js';
import { timeStages, type TimedStage } from '../../src/gpu/timing.js';
import { median } from '../../src/stats.js';
import { memoryPeakOnly, type CopyBeside, type Peak } from '../metrics.js';
import { prepareCopyProbe, probeSideBytes, type CopyProbe } from '../copy-probe.js';
import { checkThenTime, timeCpu, type RunOpts } from '../harness.js';
import { describeShape, makeInputs, opBytes, opFlops, type OpCase, type OpInputs } from '../inputs.js';
import { prepareOurs } from '../ours.js';
import { failedRecord, makeRecord, type BenchRecord, type Impl, type Measurement } from '../report.js';
import { allowanceAt, checkIndices, checkOutput, referenceAt } from '../verify.js';
import type { OrtRemote } from '../peers/ort-remote.js';
import { PeerTimeoutError, withTimeout } from '../peers/timeout.js';
import { PeerUnavailableError, type Peer, type PeerPrecision, type PeerResult } from '../peers/types.js';
import type { Scale } from '../scale.js';
import { f16Bytes, roundInputs } from './f16.js';
import type { OursF16 } from './ours-f16.js';

export interface PeerSlot<P> {
  peer: P | null;
  /** Why the peer is missing (failed to load, or hung earlier in this run). */
  unavailable: string | null;
  adapter: string;
}

export interface BenchContext {
  engine: Engine;
  adapter: string;
  cpuName: string;
  peak: Peak | null;
  scale: Scale;
  run: RunOpts;
  seed: number;
  peerTimeoutMs: number;
  tfjs: PeerSlot<Peer> | null;
  ort: PeerSlot<OrtRemote> | null;
  jax: PeerSlot<Peer> | null;
  /** The precisions each op runs in: f32 rows, and f16 rows when 'f16' is listed. */
  precisions: readonly PeerPrecision[];
  /** Our f16 kernels, or why there are none here (no shader-f16, or not built yet). */
  oursF16: OursF16;
  /** Largest reference work (multiply-adds) timed as the cpu-reference impl; 0 without the cpu peer. */
  cpuLimit: number;
  log(message: string): void;
}

export interface CaseMeta {
  suite: string;
  name: string;
  size?: number;
}

export async function runCase(ctx: BenchContext, meta: CaseMeta, c: OpCase, cpu?: { fmas: number; fn: (x: OpInputs) => ArrayLike<number> }): Promise<BenchRecord[]> {
  const shape = describeShape(c);
  const inputs = makeInputs(c, ctx.seed);
  const indices = checkIndices(c, ctx.seed);
  const records: BenchRecord[] = [];
  for (const precision of ctx.precisions) {
    const f16 = precision === 'f16';
    ctx.log(`${meta.suite} ${meta.name} ${shape}${f16 ? ' f16' : ''}`);
    const base = { ...meta, shape, flops: opFlops(c), bytes: f16 ? f16Bytes(c) : opBytes(c), ...(f16 ? { precision: 'f16' as const } : {}) };
    const m = (impl: Impl, adapter: string): Measurement => ({ ...base, impl, adapter });
    const x = f16 ? roundInputs(inputs) : inputs;
    const ref = referenceAt(c, x, indices);
    const tol = allowanceAt(c, x, indices, ref, precision);
    // f16 rows: % of memory bandwidth only (bytes are precision-free; the only FLOP peak known is fp32 FMA).
    const peak = f16 ? memoryPeakOnly(ctx.peak) : ctx.peak;
    const bandwidthBound = opFlops(c) === 0;

    // Ours: each variant of the op (the attention core: materialized pattern, and fused).
    const { gpu, cache } = ctx.engine;
    for (const variant of c.op === 'attention' ? [{ fused: false, suffix: '' }, { fused: true, suffix: ', fused' }] : [{ fused: false, suffix: '' }]) {
      const mine = { ...m('webgpu-attention', ctx.adapter), name: meta.name + variant.suffix };
      const compared = variant.suffix ? { comparedWith: meta.name } : {};
      if (f16 && !ctx.oursF16.available) {
        records.push({ ...failedRecord(mine, 'not available', ctx.oursF16.reason, 'timestamp-query'), ...compared });
        continue;
      }
      try {
        const options = { baseTile: ctx.engine.matmulTile, fused: variant.fused };
        const ours = f16 && ctx.oursF16.available ? await ctx.oursF16.prepare(gpu, cache, c, x, options) : await prepareOurs(gpu, cache, c, x, options);
        let probe: CopyProbe | null = null;
        try {
          const label = `${meta.suite} ${mine.name}${f16 ? ' f16' : ''}`;
          if (bandwidthBound) probe = await prepareCopyProbe(gpu, cache, probeSideBytes(gpu, base.bytes));
          const probeRuns = { warmup: 1, runs: ctx.run.runs, minSampleMs: ctx.engine.adapter.isSoftware ? 0 : 5 };
          const beforeGbps = probe ? await probe.measure(probeRuns) : 0;
          const { check, timing: t } = await checkThenTime(gpu, label, ours.stages, async () => checkOutput(c, await ours.read(indices), ref, indices, tol), ctx.run, ours.reset);
          const copyProbe: { copyProbe?: CopyBeside } = probe && t ? { copyProbe: { bytes: probe.bytes, beforeGbps, afterGbps: await probe.measure(probeRuns) } } : {};
          if (probe && t && copyProbe.copyProbe) copyProbe.copyProbe.pairs = await pairedRounds(gpu, label, probe, ours, base.bytes, probeRuns);
          const stages = t && Object.keys(t.stagesMs).length > 1 ? { stagesMs: t.stagesMs } : {};
          records.push(makeRecord(mine, t?.source ?? 'timestamp-query', t?.summary ?? null, check, peak, { ...(t ? { wallMedianMs: t.wall.medianMs } : {}), ...stages, ...compared, ...copyProbe }));
        } finally {
          probe?.destroy();
          ours.destroy();
        }
      } catch (e) {
        records.push({ ...failedRecord(mine, 'error', (e as Error).message, 'timestamp-query'), ...compared });
      }
    }

    // Peers.
    const opts = { ...ctx.run, sample: indices ?? undefined, precision };
    const inProcess = (name: 'tfjs-webgpu' | 'jax-js-webgpu', slot: PeerSlot<Peer>) =>
      peerRecord(ctx, slot, m(name, slot.adapter), c, ref, indices, tol, peak, (p) => withTimeout(callPeer(p, c, x, opts), ctx.peerTimeoutMs, `${name} ${c.op}${f16 ? ' f16' : ''}`));
    if (ctx.tfjs) {
      if (f16) records.push(failedRecord(m('tfjs-webgpu', ctx.tfjs.adapter), 'not available', 'tfjs-backend-webgpu 4.22 has no float16 dtype', 'wall-clock-drained'));
      else records.push(await inProcess('tfjs-webgpu', ctx.tfjs));
    }
    if (ctx.ort) {
      const slot = ctx.ort;
      records.push(await peerRecord(ctx, slot, m('onnxruntime-webgpu', slot.adapter), c, ref, indices, tol, peak, (p) => p.run(c, ctx.seed, opts)));
    }
    if (ctx.jax) records.push(await inProcess('jax-js-webgpu', ctx.jax));

    // The float64 CPU reference, timed where small (once, beside the fp32 rows).
    if (!f16 && cpu && cpu.fmas <= ctx.cpuLimit) {
      const cpuRuns = { warmup: Math.min(ctx.run.warmup, 1), runs: ctx.run.runs };
      const { result, summary } = timeCpu(() => cpu.fn(inputs), cpuRuns);
      const got = indices ? Float64Array.from(indices, (i) => result[i]!) : result;
      records.push(makeRecord(m('cpu-reference', ctx.cpuName), 'cpu', summary, checkOutput(c, got, ref, indices, tol), null));
    }
  }
  return records;
}

async function peerRecord<P>(ctx: BenchContext, slot: PeerSlot<P>, meas: Measurement, c: OpCase, ref: Float64Array, indices: Uint32Array | null, tol: Float64Array, peak: Peak | null, call: (p: P) => Promise<PeerResult>): Promise<BenchRecord> {
  if (!slot.peer) return failedRecord(meas, 'not available', slot.unavailable ?? 'not loaded', 'wall-clock-drained');
  try {
    const r = await call(slot.peer);
    const check = checkOutput(c, r.output, ref, indices, tol);
    return makeRecord(meas, 'wall-clock-drained', r.timing, check, peak, check.passed ? {} : { error: check.detail });
  } catch (e) {
    if (e instanceof PeerUnavailableError) return failedRecord(meas, 'not available', e.message, 'wall-clock-drained');
    if (e instanceof PeerTimeoutError) {
      // An in-process peer cut off by a timeout may still be running on the GPU: it is not used again.
      // (ORT runs in a child process, which the timeout kills; the next request starts a fresh one.)
      if (meas.impl !== 'onnxruntime-webgpu') {
        slot.peer = null;
        slot.unavailable = `an earlier call timed out (${e.message})`;
      }
      return failedRecord(meas, 'timed out', e.message, 'wall-clock-drained');
    }
    return failedRecord(meas, 'error', (e as Error).message, 'wall-clock-drained');
  }
}

function callPeer(p: Peer, c: OpCase, x: OpInputs, opts: RunOpts & { sample?: Uint32Array; precision?: PeerPrecision }): Promise<PeerResult> {
  if (c.op === 'matmul' && x.op === 'matmul') return p.matmul(x.a, x.b, c.M, c.N, c.K, { ...opts, transB: c.transB, batch: c.batch });
  if (c.op === 'softmax' && x.op === 'softmax') {
    if (!p.softmax) throw new Error(`${p.name} has no softmax`);
    return p.softmax(x.x, c.rows, c.cols, opts);
  }
  if (c.op === 'attention' && x.op === 'attention') {
    return p.attention(x.q, x.k, x.v, { heads: c.heads, seq: c.seq, kvSeq: c.seq, dHead: c.dHead, causal: c.causal }, opts);
  }
  if (c.op === 'decode' && x.op === 'decode') {
    // One query row against every cached key: the library's own attention with a one-row query, as its users
    // would write a decode step (ORT has an op with past key/value: bench/peers/onnxruntime.ts decode).
    if (p.decode) return p.decode(x.q, x.k, x.v, { heads: c.heads, nKv: c.nKv, dHead: c.dHead }, opts);
    return p.attention(x.q, x.k, x.v, { heads: c.heads, seq: 1, kvSeq: c.nKv, dHead: c.dHead, causal: false }, opts);
  }
  throw new Error(`no ${c.op} for these inputs`);
}

/** Rounds of the probe and ours back to back, after the row's checked timing (metrics.ts CopyBeside.pairs). */
const PAIRED_ROUNDS = 5;
async function pairedRounds(gpu: BenchContext['engine']['gpu'], label: string, probe: CopyProbe, ours: { stages: TimedStage[]; reset?: (e: GPUCommandEncoder) => void },
  bytes: number, probeRuns: { warmup: number; runs: number; minSampleMs?: number }): Promise<{ probeGbps: number; oursGbps: number }[]> {
  const pairs: { probeGbps: number; oursGbps: number }[] = [];
  const runs = { warmup: 1, runs: 3, minSampleMs: probeRuns.minSampleMs };
  for (let i = 0; i < PAIRED_ROUNDS; i++) {
    const probeGbps = await probe.measure(runs);
    const t = await timeStages(gpu, `${label} paired ${i + 1}`, ours.stages, { ...runs, reset: ours.reset });
    pairs.push({ probeGbps, oursGbps: bytes / (median(t.ms) * 1e6) });
  }
  return pairs;
}
