// Peer: TensorFlow.js on its WebGPU backend (@tensorflow/tfjs-backend-webgpu 4.22), on the Dawn of the
// `webgpu` package. tfjs looks for `navigator.gpu` when its module loads, so the GPU is put there first.
//
// How tfjs submits work (read from node_modules/@tensorflow/tfjs-backend-webgpu/dist/backend_webgpu.js):
// every kernel is recorded into one shared compute pass of `backend.commandEncoder`; the encoder is only
// submitted once WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (15) dispatches have piled up, or by a read-back.
// An attention (≈10 kernels) would therefore sit unsubmitted, and `queue.onSubmittedWorkDone()` alone would
// return before it ran. So after each op we flush what tfjs itself does before a read-back:
// `endComputePassEncoder(); submitQueue()` (runtime methods, private in its typings), then await
// `device.queue.onSubmittedWorkDone()`. That times the GPU work without the read-back copy and map.
import type { AttentionShape, MatmulOpts, Peer, PeerResult, PeerRunOpts } from './types.js';
import { summarizeTimings } from './types.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor = import('@tensorflow/tfjs-core').Tensor;

/** The parts of tfjs's WebGPUBackend we need; they exist at runtime but are private/untyped in 4.22. */
interface TfjsWebGpuBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
}

/** tfjs-backend-webgpu 4.22's BufferManager fields used by trimPool (runtime, untyped). */
interface TfjsBufferPool {
  freeBuffers: Map<string, GPUBuffer[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
}

export function createTfjsPeer(gpu: GPU): Peer {
  let tf: Tf | undefined;
  let description = 'tfjs-webgpu (not initialised)';

  const lib = (): Tf => {
    if (!tf) throw new Error('tfjs peer: init() first');
    return tf;
  };
  const backend = (): TfjsWebGpuBackend => lib().backend() as unknown as TfjsWebGpuBackend;

  /** Submits whatever tfjs has recorded and waits until the GPU queue has executed it. */
  async function drain(): Promise<void> {
    const be = backend();
    if (be.commandEncoder) {
      be.endComputePassEncoder();
      be.submitQueue();
    }
    await be.device.queue.onSubmittedWorkDone();
  }

  /** Creates tensors and copies them to GPU buffers now, so no upload happens inside the timed runs. */
  async function upload(...ts: Tensor[]): Promise<void> {
    for (const t of ts) backend().uploadToGPU(t.dataId);
    await drain();
  }

  /** warmup + runs of `op`, each drained; keeps the last output, reads it back once at the end. */
  async function timeOp(inputs: Tensor[], op: () => Tensor, opts: PeerRunOpts): Promise<PeerResult> {
    const t = lib();
    const samples: number[] = [];
    let last: Tensor | undefined;
    try {
      await upload(...inputs);
      for (let i = 0; i < opts.warmup + opts.runs; i++) {
        last?.dispose();
        const t0 = performance.now();
        last = t.tidy(op); // tidy frees the intermediates (scores, probabilities) of this run
        await drain();
        const ms = performance.now() - t0;
        if (i >= opts.warmup) samples.push(ms);
      }
      if (!last) throw new Error('tfjs peer: runs + warmup must be ≥ 1');
      const result = last;
      // A sample is gathered on the GPU, so a big output is never copied to the host in full.
      const picked = opts.sample ? t.tidy(() => t.gather(t.reshape(result, [-1]), t.tensor1d(Int32Array.from(opts.sample!), 'int32'))) : null;
      const data = await (picked ?? result).data();
      picked?.dispose();
      return { output: new Float32Array(data as Float32Array), timing: summarizeTimings(samples) };
    } finally {
      last?.dispose();
      for (const x of inputs) x.dispose();
      trimPool();
    }
  }

  /**
   * Destroys the GPU buffers tfjs keeps for reuse. Its pool is keyed by size, so across a benchmark's shapes
   * (1.6 GB softmax inputs, 0.6 GB weights, …) it would otherwise keep every size it has seen allocated.
   * Buffers still in use are left alone; the keys stay (tfjs's releaseBuffer ignores releases on an empty map).
   */
  function trimPool(): void {
    const pool = (backend() as unknown as { bufferManager?: TfjsBufferPool }).bufferManager;
    if (!pool?.freeBuffers) return;
    for (const list of pool.freeBuffers.values()) {
      for (const b of list) {
        pool.numBytesAllocated -= b.size;
        b.destroy();
      }
      list.length = 0;
    }
    pool.numFreeBuffers = 0;
  }

  return {
    name: 'tfjs-webgpu',

    async init() {
      // tfjs-backend-webgpu registers its backend at import time only if navigator.gpu exists.
      const g = globalThis as { navigator?: { gpu?: GPU } };
      if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') {
        throw new Error('tfjs peer: setBackend("webgpu") failed (no WebGPU adapter?)');
      }
      await tf.ready();
      // Small inputs (< 1000 elements) would otherwise be computed on the CPU (WEBGPU_CPU_FORWARD): we
      // want the GPU kernels both for timing and for checking their results.
      tf.env().set('WEBGPU_CPU_FORWARD', false);
      // tfjs does not keep the adapter; ask the same GPU with the same preference it used.
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      const info = adapter?.info;
      description = info
        ? [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ')
        : 'unknown adapter';
    },

    adapterDescription: () => description,

    async matmul(a, b, M, N, K, opts: MatmulOpts) {
      const t = lib();
      const batch = opts.batch ?? 1;
      const lead = batch > 1 ? [batch] : [];
      const ta = t.tensor(a, [...lead, M, K]);
      const tb = t.tensor(b, [...lead, ...(opts.transB ? [N, K] : [K, N])]);
      return timeOp([ta, tb], () => t.matMul(ta, tb, false, opts.transB), opts);
    },

    async softmax(x, rows, cols, opts) {
      const t = lib();
      const tx = t.tensor2d(x, [rows, cols]);
      return timeOp([tx], () => t.softmax(tx, -1), opts);
    },

    async attention(q, k, v, shape: AttentionShape, opts) {
      const t = lib();
      const { heads: H, seq: S, kvSeq: L, dHead: D, causal } = shape;
      const tq = t.tensor2d(q, [S, H * D]);
      const tk = t.tensor2d(k, [L, H * D]);
      const tv = t.tensor2d(v, [L, H * D]);
      // Additive mask [S, L] (0 or −∞ where j > i), broadcast over heads. It is an input, not timed work.
      const inputs: Tensor[] = [tq, tk, tv];
      let mask: Tensor | undefined;
      if (causal) {
        const m = new Float32Array(S * L);
        for (let i = 0; i < S; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -Infinity;
        mask = t.tensor2d(m, [S, L]);
        inputs.push(mask);
      }
      const scale = 1 / Math.sqrt(D);
      const op = (): Tensor => {
        // [rows, H·D] → [H, rows, D]: the layout change is part of the op for a library without fused attention.
        const heads = (x: Tensor, rows: number) => t.transpose(t.reshape(x, [rows, H, D]), [1, 0, 2]);
        // Scaling q (S·H·D values) instead of the scores (H·S·L) is the same math, done where it is cheaper.
        const qh = t.mul(heads(tq, S), t.scalar(scale));
        let scores: Tensor = t.matMul(qh, heads(tk, L), false, true); // [H, S, L], batched over heads
        if (mask) scores = t.add(scores, mask);
        const p = t.softmax(scores, -1);
        const o = t.matMul(p, heads(tv, L)); // [H, S, D]
        return t.reshape(t.transpose(o, [1, 0, 2]), [S, H * D]);
      };
      return timeOp(inputs, op, opts);
    },

    async dispose() {
      if (!tf) return;
      tf.disposeVariables();
      tf.engine().reset(); // disposes the webgpu backend (its buffer pools) and all tensors
      tf = undefined;
    },
  };
}
