// Peer: jax-js (@jax-js/jax 0.1.25) on its WebGPU device, on the Dawn of the `webgpu` package. jax-js asks
// `navigator.gpu` for an adapter when `init('webgpu')` runs (its own README lists Node as "no WebGPU" because
// Node has no navigator.gpu), so the GPU is put there first, as for tfjs; it then makes its own GPUDevice.
//
// Node: jax-js is written for browsers and uses iterator helpers (Node ≥ 22) in places. Checked with 0.1.25 on
// Node v20.20.2 and lavapipe: matmul and softmax run (their paths reach no iterator helper), but
// nn.dotProductAttention does not: it builds on einsum, whose parser calls `string.matchAll(…).map(…)`
// ("matchAll(...).map is not a function"). So on a Node without iterator helpers the attention op is "not
// available" with that reason; no newer Node is installed here to run it in a child process. init() runs a
// 2×2 product as a smoke test: a failure there makes the whole peer "not available" with the error.
//
// How jax-js executes (read from node_modules/@jax-js/jax/dist): arrays are lazy; each op (or each `jit`
// program) becomes pending kernels that are submitted, one queue.submit per kernel, when a result is awaited.
// `Array.blockUntilReady()` submits what is pending and maps a 0-byte staging copy, which resolves only after
// every earlier submission has run. Each timed run: the op issued → blockUntilReady → queue.onSubmittedWorkDone
// (the same "issued until drained" clock as the other peers; inputs already on the GPU, output left there).
// The ops go through `jit`, the library's documented way to run a sequence of ops fast (it fuses elementwise
// work into one kernel and records the execution plan); the first (warm-up) call compiles.
//
// Ownership: jax-js arrays are reference-counted and every function consumes its arguments, so inputs are
// passed as `x.ref` in the loop and disposed at the end.
//
// f16: jax-js has a float16 dtype on WebGPU when the device has shader-f16 (it requests the feature itself).
// The f16-rounded inputs are uploaded as float32 and cast to float16 on the GPU, untimed; the op runs on
// float16 arrays (accumulation precision is the library's choice); the output is cast back to float32 after
// the timed runs (exact) for the check.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AttentionShape, MatmulOpts, Peer, PeerPrecision, PeerResult, PeerRunOpts } from './types.js';
import { PeerUnavailableError, summarizeTimings } from './types.js';

type Jax = typeof import('@jax-js/jax');
type JaxArray = import('@jax-js/jax').Array;

/** Whether this Node has iterator helpers (Iterator.prototype.map, Node ≥ 22). */
export function hasIteratorHelpers(): boolean {
  const it = (globalThis as { Iterator?: { prototype?: { map?: unknown } } }).Iterator;
  return typeof it?.prototype?.map === 'function';
}

/** The installed @jax-js/jax version, read from its package.json (its exports map does not expose it). */
function jaxVersion(): string {
  try {
    const main = createRequire(import.meta.url).resolve('@jax-js/jax');
    return (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

/** Why jax-js could not start, with the Node requirement spelled out where it is the likely cause. */
export function explainJaxFailure(e: unknown, nodeVersion = process.version, iteratorHelpers = hasIteratorHelpers()): string {
  const msg = e instanceof Error ? e.message : String(e);
  const major = Number(/^v(\d+)/.exec(nodeVersion)?.[1] ?? 0);
  if (!iteratorHelpers && /is not a function|Iterator/.test(msg)) {
    return `${msg} (jax-js needs a Node with iterator helpers, Node ≥ 22; this is ${nodeVersion}${major < 22 ? ', which has none' : ''})`;
  }
  return msg;
}

export function createJaxPeer(gpu: GPU): Peer {
  let jax: Jax | undefined;
  let device: GPUDevice | undefined;
  let description = 'jax-js-webgpu (not initialised)';

  const lib = (): Jax => {
    if (!jax) throw new Error('jax-js peer: init() first');
    return jax;
  };

  /** Uploads `data` as an array of `shape` on the WebGPU device, in `precision`, and waits until it is there. */
  async function put(data: Float32Array, shape: number[], precision: PeerPrecision): Promise<JaxArray> {
    const { numpy: np } = lib();
    let x = np.array(data as Float32Array<ArrayBuffer>).reshape(shape);
    if (precision === 'f16') x = x.astype(np.float16);
    await x.blockUntilReady();
    return x;
  }

  /** Waits until `x` is computed and the queue is drained. */
  async function drain(x: JaxArray): Promise<void> {
    await x.blockUntilReady();
    await device!.queue.onSubmittedWorkDone();
  }

  /**
   * warmup + runs of `op` on `inputs` (each call consumes one reference of each input), each drained; keeps
   * the last output, reads it back once (the sample gathered on the GPU) after the timed runs.
   */
  async function timeOp(inputs: JaxArray[], op: (...xs: JaxArray[]) => JaxArray, opts: PeerRunOpts): Promise<PeerResult> {
    const { numpy: np, jit } = lib();
    const f = jit(op);
    const samples: number[] = [];
    let last: JaxArray | undefined;
    try {
      for (let i = 0; i < opts.warmup + opts.runs; i++) {
        last?.dispose();
        last = undefined;
        const t0 = performance.now();
        last = f(...inputs.map((x) => x.ref));
        await drain(last);
        const ms = performance.now() - t0;
        if (i >= opts.warmup) samples.push(ms);
      }
      if (!last) throw new Error('jax-js peer: runs + warmup must be ≥ 1');
      let out: JaxArray = last.ref.astype(np.float32);
      if (opts.sample) out = np.take(out.reshape([-1]), np.array(Int32Array.from(opts.sample), { dtype: np.int32 }));
      const data = await out.data();
      return { output: Float32Array.from(data as ArrayLike<number>), timing: summarizeTimings(samples) };
    } finally {
      last?.dispose();
      for (const x of inputs) x.dispose();
      f.dispose();
    }
  }

  return {
    name: 'jax-js-webgpu',

    async init() {
      // jax-js looks for navigator.gpu in init('webgpu') and reads navigator.userAgent when its WebGPU module
      // loads (a Firefox check): put this Dawn there (Node 20 has no navigator; tfjs's init may have made one
      // without userAgent), and the user agent Node ≥ 21 gives its own navigator.
      const g = globalThis as { navigator?: { gpu?: GPU; userAgent?: string } };
      if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      if (typeof g.navigator!.userAgent !== 'string') Object.defineProperty(g.navigator!, 'userAgent', { value: `Node.js/${process.versions.node.split('.')[0]}`, configurable: true });
      try {
        const j = (await import('@jax-js/jax')) as Jax;
        const devices = await j.init('webgpu');
        if (!devices.includes('webgpu')) throw new Error(`jax-js init('webgpu') found no WebGPU device (devices: ${devices.join(', ')})`);
        j.defaultDevice('webgpu');
        device = j.getWebGPUDevice();
        // Smoke test: a 2×2 product through jit, read back. Catches a Node without what jax-js needs.
        const np = j.numpy;
        const f = j.jit((a: JaxArray, b: JaxArray) => np.matmul(a, b));
        const got = await f(np.array(new Float32Array([1, 2, 3, 4])).reshape([2, 2]), np.array(new Float32Array([5, 6, 7, 8])).reshape([2, 2])).data();
        f.dispose();
        if (![19, 22, 43, 50].every((v, i) => got[i] === v)) throw new Error(`jax-js smoke test: [[1,2],[3,4]]·[[5,6],[7,8]] gave ${Array.from(got as ArrayLike<number>).join(',')}`);
        jax = j;
      } catch (e) {
        throw new Error(`jax-js peer: ${explainJaxFailure(e)}`);
      }
      const info = device.adapterInfo;
      const adapter = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s).join(' ') || 'unknown adapter';
      const f16 = device.features.has('shader-f16') ? 'float16 available' : 'no shader-f16';
      description = `jax-js ${jaxVersion()} WebGPU (${adapter}; ${f16}; Node ${process.version})`;
    },

    adapterDescription: () => description,

    async matmul(a, b, M, N, K, opts: MatmulOpts) {
      const { numpy: np } = lib();
      const p = opts.precision ?? 'f32';
      const batch = opts.batch ?? 1;
      const lead = batch > 1 ? [batch] : [];
      const inputs = [await put(a, [...lead, M, K], p), await put(b, [...lead, ...(opts.transB ? [N, K] : [K, N])], p)];
      // A·Bᵀ as matmul of a transposed view: inside jit the transpose is an index change, not a copy.
      const op = (x: JaxArray, y: JaxArray) => np.matmul(x, opts.transB ? np.matrixTranspose(y) : y);
      return timeOp(inputs, op, opts);
    },

    async softmax(x, rows, cols, opts) {
      const { nn } = lib();
      const inputs = [await put(x, [rows, cols], opts.precision ?? 'f32')];
      return timeOp(inputs, (t: JaxArray) => nn.softmax(t, -1), opts);
    },

    async attention(q, k, v, shape: AttentionShape, opts) {
      const { nn } = lib();
      const p = opts.precision ?? 'f32';
      const { heads: H, seq: S, kvSeq: L, dHead: D, causal } = shape;
      if (!hasIteratorHelpers()) {
        throw new PeerUnavailableError(`jax-js nn.dotProductAttention needs iterator helpers (its einsum parser calls matchAll(…).map), Node ≥ 22; this is ${process.version}`);
      }
      if (causal && S !== L) throw new Error('jax-js peer: isCausal masks j > i only with as many queries as keys');
      // [rows, H·D] is jax-js's [L, N, H] layout (no batch) without moving anything; scale defaults to 1/√dHead.
      const inputs = [await put(q, [S, H, D], p), await put(k, [L, H, D], p), await put(v, [L, H, D], p)];
      const op = (tq: JaxArray, tk: JaxArray, tv: JaxArray) => nn.dotProductAttention(tq, tk, tv, { isCausal: causal }).reshape([S, H * D]);
      return timeOp(inputs, op, opts);
    },

    async dispose() {
      // jax-js keeps its WebGPU backend for the life of the process (there is no call to end it); the arrays
      // of each op are freed as it finishes, and its pool keeps only buffers of ≤ 64 MiB for reuse.
      jax = undefined;
    },
  };
}

/**
 * The peer loaded, or why not: never absent without a reason. `timeoutMs` cuts off a hung init (the
 * message then says so); every other failure (no WebGPU device, a missing Node feature) is the reason.
 */
export async function loadJaxPeer(gpu: GPU, timeoutMs: number): Promise<{ peer: Peer | null; unavailable: string | null }> {
  const peer = createJaxPeer(gpu);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`loading jax-js did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([peer.init(), timeout]);
    return { peer, unavailable: null };
  } catch (e) {
    return { peer: null, unavailable: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
