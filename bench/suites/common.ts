// One operation side by side: ours, then each selected peer on the same inputs in the same process (ORT in
// its child process), then the float64 CPU reference where it is small enough; every output checked against
// float64 values before its time is reported (ours: checked before it is timed, a wrong output not timed).

import type { Engine } from '../../src/model/engine.js';
import type { Peak } from '../metrics.js';
import { checkThenTime, timeCpu, type RunOpts } from '../harness.js';
import { describeShape, makeInputs, opBytes, opFlops, type OpCase, type OpInputs } from '../inputs.js';
import { prepareOurs } from '../ours.js';
import { failedRecord, makeRecord, type BenchRecord, type Impl, type Measurement } from '../report.js';
import { checkIndices, checkOutput, referenceAt } from '../verify.js';
import type { OrtRemote } from '../peers/ort-remote.js';
import { PeerTimeoutError, withTimeout } from '../peers/timeout.js';
import type { Peer, PeerResult } from '../peers/types.js';
import type { Scale } from '../scale.js';

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
  const base = { ...meta, shape, flops: opFlops(c), bytes: opBytes(c) };
  const m = (impl: Impl, adapter: string): Measurement => ({ ...base, impl, adapter });
  ctx.log(`${meta.suite} ${meta.name} ${shape}`);
  const inputs = makeInputs(c, ctx.seed);
  const indices = checkIndices(c, ctx.seed);
  const ref = referenceAt(c, inputs, indices);
  const records: BenchRecord[] = [];

  // Ours: each variant of the op (the attention core: materialized pattern, and fused).
  const { gpu, cache } = ctx.engine;
  for (const variant of c.op === 'attention' ? [{ fused: false, suffix: '' }, { fused: true, suffix: ', fused' }] : [{ fused: false, suffix: '' }]) {
    const mine = { ...m('webgpu-attention', ctx.adapter), name: meta.name + variant.suffix };
    const compared = variant.suffix ? { comparedWith: meta.name } : {};
    try {
      const ours = await prepareOurs(gpu, cache, c, inputs, { baseTile: ctx.engine.matmulTile, fused: variant.fused });
      try {
        const { check, timing: t } = await checkThenTime(gpu, `${meta.suite} ${mine.name}`, ours.stages, async () => checkOutput(c, await ours.read(indices), ref, indices), ctx.run, ours.reset);
        const stages = t && Object.keys(t.stagesMs).length > 1 ? { stagesMs: t.stagesMs } : {};
        records.push(makeRecord(mine, t?.source ?? 'timestamp-query', t?.summary ?? null, check, ctx.peak, { ...(t ? { wallMedianMs: t.wall.medianMs } : {}), ...stages, ...compared }));
      } finally {
        ours.destroy();
      }
    } catch (e) {
      records.push({ ...failedRecord(mine, 'error', (e as Error).message, 'timestamp-query'), ...compared });
    }
  }

  // Peers.
  const opts = { ...ctx.run, sample: indices ?? undefined };
  if (ctx.tfjs) {
    const slot = ctx.tfjs;
    records.push(await peerRecord(ctx, slot, m('tfjs-webgpu', slot.adapter), c, ref, indices, (p) => withTimeout(callPeer(p, c, inputs, opts), ctx.peerTimeoutMs, `tfjs-webgpu ${c.op}`)));
  }
  if (ctx.ort) {
    const slot = ctx.ort;
    records.push(await peerRecord(ctx, slot, m('onnxruntime-webgpu', slot.adapter), c, ref, indices, (p) => p.run(c, ctx.seed, opts)));
  }

  // The float64 CPU reference, timed where small.
  if (cpu && cpu.fmas <= ctx.cpuLimit) {
    const cpuRuns = { warmup: Math.min(ctx.run.warmup, 1), runs: ctx.run.runs };
    const { result, summary } = timeCpu(() => cpu.fn(inputs), cpuRuns);
    const got = indices ? Float64Array.from(indices, (i) => result[i]!) : result;
    records.push(makeRecord(m('cpu-reference', ctx.cpuName), 'cpu', summary, checkOutput(c, got, ref, indices), null));
  }
  return records;
}

async function peerRecord<P>(ctx: BenchContext, slot: PeerSlot<P>, meas: Measurement, c: OpCase, ref: Float64Array, indices: Uint32Array | null, call: (p: P) => Promise<PeerResult>): Promise<BenchRecord> {
  if (!slot.peer) return failedRecord(meas, 'not available', slot.unavailable ?? 'not loaded', 'wall-clock-drained');
  try {
    const r = await call(slot.peer);
    return makeRecord(meas, 'wall-clock-drained', r.timing, checkOutput(c, r.output, ref, indices), ctx.peak);
  } catch (e) {
    if (e instanceof PeerTimeoutError) {
      // An in-process peer cut off by a timeout may still be running on the GPU: it is not used again.
      if (meas.impl === 'tfjs-webgpu') {
        slot.peer = null;
        slot.unavailable = `an earlier call timed out (${e.message})`;
      }
      return failedRecord(meas, 'timed out', e.message, 'wall-clock-drained');
    }
    return failedRecord(meas, 'error', (e as Error).message, 'wall-clock-drained');
  }
}

function callPeer(p: Peer, c: OpCase, x: OpInputs, opts: RunOpts & { sample?: Uint32Array }): Promise<PeerResult> {
  if (c.op === 'matmul' && x.op === 'matmul') return p.matmul(x.a, x.b, c.M, c.N, c.K, { ...opts, transB: c.transB, batch: c.batch });
  if (c.op === 'softmax' && x.op === 'softmax') {
    if (!p.softmax) throw new Error(`${p.name} has no softmax`);
    return p.softmax(x.x, c.rows, c.cols, opts);
  }
  if (c.op === 'attention' && x.op === 'attention') {
    return p.attention(x.q, x.k, x.v, { heads: c.heads, seq: c.seq, contextSeq: c.seq, dHead: c.dHead, causal: c.causal }, opts);
  }
  throw new Error(`no ${c.op} for these inputs`);
}
