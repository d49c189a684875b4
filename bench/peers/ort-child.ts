// Child process that runs the onnxruntime-webgpu peer for the benchmark (bundled as ort-child.mjs beside
// bench.mjs). ORT's session.run() blocks the JS thread until its GPU work is done (see onnxruntime.ts), so a
// hang can only be cut off from outside: the parent kills this process when a request runs past its timeout.
// A worker_thread would not do: terminating a thread stuck in a native call never completes.
//
// Protocol (process.send, advanced serialization so typed arrays travel as such):
//   child → parent  { ready: true, description } | { ready: false, error }
//   parent → child  { id, case: OpCase, seed, warmup, runs, sample?, precision? }
//   child → parent  { id, ok: true, output, timing } | { id, ok: false, error }
// Inputs are regenerated here from the case and seed (bench/inputs.ts), bit-identical to the parent's; for
// precision 'f16' rounded to f16 values as the parent rounds them (bench/suites/f16.ts).
//
// ORT_NODE_PATH, when set, is the onnxruntime-node package folder to load (the H100 bundle unpacks it from
// .gpu/ort.tar.xz into /tmp); otherwise `onnxruntime-node` is resolved as usual.

import { createRequire } from 'node:module';
import { makeInputs, type OpCase } from '../inputs.js';
import { createOrtPeer } from './onnxruntime.js';
import type { PeerPrecision, PeerResult } from './types.js';
import { roundInputs } from '../suites/f16.js';

export interface OrtRequest {
  id: number;
  case: OpCase;
  seed: number;
  warmup: number;
  runs: number;
  sample?: Uint32Array;
  precision?: PeerPrecision;
}

export type OrtReply = { id: number; ok: true; result: PeerResult } | { id: number; ok: false; error: string };
export type OrtHello = { ready: true; description: string } | { ready: false; error: string };

function send(message: OrtReply | OrtHello): void {
  process.send!(message);
}

async function main(): Promise<void> {
  const path = process.env.ORT_NODE_PATH;
  const peer = createOrtPeer({
    load: path ? async () => createRequire(import.meta.url)(path) : undefined,
  });
  try {
    await peer.init();
  } catch (e) {
    send({ ready: false, error: (e as Error).message });
    process.exit(0);
  }
  process.on('message', (message: OrtRequest) => {
    void serve(message);
  });
  // Requests are served one at a time: the parent waits for each reply before sending the next.
  async function serve(req: OrtRequest): Promise<void> {
    try {
      const c = req.case;
      const generated = makeInputs(c, req.seed);
      const x = req.precision === 'f16' ? roundInputs(generated) : generated;
      const opts = { warmup: req.warmup, runs: req.runs, sample: req.sample, precision: req.precision };
      let result: PeerResult;
      if (c.op === 'matmul' && x.op === 'matmul') result = await peer.matmul(x.a, x.b, c.M, c.N, c.K, { ...opts, transB: c.transB, batch: c.batch });
      else if (c.op === 'softmax' && x.op === 'softmax') result = await peer.softmax!(x.x, c.rows, c.cols, opts);
      else if (c.op === 'attention' && x.op === 'attention') {
        result = await peer.attention(x.q, x.k, x.v, { heads: c.heads, seq: c.seq, kvSeq: c.seq, dHead: c.dHead, causal: c.causal }, opts);
      } else if (c.op === 'decode' && x.op === 'decode') {
        result = await peer.decode!(x.q, x.k, x.v, { heads: c.heads, nKv: c.nKv, dHead: c.dHead }, opts);
      } else throw new Error(`unknown op ${c.op}`);
      send({ id: req.id, ok: true, result });
    } catch (e) {
      send({ id: req.id, ok: false, error: (e as Error).message ?? String(e) });
    }
  }
  send({ ready: true, description: peer.adapterDescription() });
  process.on('disconnect', () => process.exit(0));
}

void main();
