// Peer: ONNX Runtime (onnxruntime-node 1.30) with its WebGPU execution provider. It carries its own Dawn
// (inside libonnxruntime), separate from the `webgpu` package's; both run in one process (checked on lavapipe).
// Models are built in memory with onnx-proto; `session.disable_cpu_ep_fallback` makes session creation fail
// instead of silently running a node on the CPU, so whatever is timed ran on the GPU.
//
// Timing (what session.run() waits for, measured on lavapipe): with a 'gpu-buffer' output, run() returns once
// the work is submitted (≈1 ms for a 256³ MatMul whose GPU work takes ≈5–9 ms), so it does not time the GPU.
// Each timed model therefore also outputs `probe`, a 1-element Slice of the result, with its location set to
// 'cpu': ORT must copy it to the host and map it before run() returns, which waits on the queue and so on the
// whole op. The result itself stays on the GPU. The drain adds one tiny dispatch and a 4-byte read-back.
// Inputs are uploaded once, untimed, by an Identity session with 'gpu-buffer' outputs and fed as GPU tensors.
// Hangs: session.run() is a synchronous native call (made from a setImmediate), and the probe's read-back blocks
// the JS thread until the GPU is done, so a GPU hang there cannot be cut off by withTimeout (its timer never
// gets to run). Where that matters, run this peer in a worker_thread (checked: onnxruntime-node 1.30 with the
// WebGPU EP works in one, and the main thread stays responsive) or a child process that can be killed.
// Read-back for verification: `tensor.getData()` must NOT be used on a gpu-buffer tensor in onnxruntime-node
// 1.30 (its native `download` throws a C string: the process aborts with "terminate called after throwing an
// instance of 'char const*'"); the last output is instead fed through an Identity session with a 'cpu' output.
// f16 (opts.precision 'f16'): the same graphs with FLOAT16 inputs, outputs and constants (the causal bias's −∞
// is f16's −∞); the inputs (already f16 values) are narrowed to f16 bits on the host, uploaded untimed as
// 'float16' tensors (Uint16Array data: Node 20 has no Float16Array), and the output is widened exactly. An
// earlier measurement saw ORT's fp16 FlashAttention hang on lavapipe: the child process and its timeout
// (ort-remote.ts) report a hang as "timed out", never as a time.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { onnx as OnnxNs } from 'onnx-proto';
import type { AttentionShape, DecodeShape, MatmulOpts, Peer, PeerResult, PeerRunOpts } from './types.js';
import { pick, summarizeTimings, type PeerPrecision } from './types.js';
import { f16Bits, f16ToNumber } from '../../src/io/half.js';

type Ort = typeof import('onnxruntime-node');
type NodeProto = OnnxNs.INodeProto;
type TensorProto = OnnxNs.ITensorProto;

const FLOAT = 1; // onnx.TensorProto.DataType.FLOAT
const INT64 = 7;
const FLOAT16 = 10;

const elemTypeOf = (p: PeerPrecision): number => (p === 'f16' ? FLOAT16 : FLOAT);

/** f32 values (already f16 values) as f16 bits. */
function toF16Bits(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f16Bits(x[i]!);
  return out;
}

/** An output tensor's data as f32 values: float32 as is, float16 (bits in a Uint16Array, or a Float16Array) widened. */
function widen(data: unknown): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint16Array) return Float32Array.from(data, f16ToNumber);
  return Float32Array.from(data as ArrayLike<number>);
}

export interface OrtPeerOptions {
  /**
   * How MultiHeadAttention is told about the causal mask: 'attention-bias' (default) adds a constant
   * [1, 1, seq, kvSeq] bias of −∞ where j > i (exactly our mask, any kvSeq); 'unidirectional' sets
   * the op's unidirectional=1 attribute (only used when seq = kvSeq, else falls back to the bias).
   */
  causalVia?: 'attention-bias' | 'unidirectional';
  /** Only for adapterDescription(): ORT does not expose its adapter, so we name what this Dawn picks. */
  describeWith?: GPU;
  /** Loads the onnxruntime-node module (default: import('onnxruntime-node')); the H100 bundle loads it from a folder. */
  load?: () => Promise<unknown>;
}

export function createOrtPeer(options: OrtPeerOptions = {}): Peer {
  let ort: Ort | undefined;
  let onnx: typeof OnnxNs | undefined;
  let description = 'onnxruntime-webgpu (not initialised)';
  const io = new Map<string, InferenceSession>(); // upload / download Identity sessions, by rank, location and type

  const libs = () => {
    if (!ort || !onnx) throw new Error('onnxruntime peer: init() first');
    return { ort, onnx };
  };

  const valueInfo = (name: string, dims: (number | string)[], elemType = FLOAT) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });

  function encodeModel(nodes: NodeProto[], inputs: [string, (number | string)[]][], outputs: [string, (number | string)[]][], init: TensorProto[] = [], elemType = FLOAT): Uint8Array {
    const { onnx } = libs();
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'webgpu-attention bench',
      opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: 'peer', node: nodes, initializer: init,
        input: inputs.map(([n, d]) => valueInfo(n, d, elemType)), output: outputs.map(([n, d]) => valueInfo(n, d, elemType)),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  const int64s = (name: string, v: number[]): TensorProto =>
    ({ name, dims: [v.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer) });

  async function session(model: Uint8Array, location: InferenceSession.SessionOptions['preferredOutputLocation']): Promise<InferenceSession> {
    return libs().ort.InferenceSession.create(model, {
      executionProviders: ['webgpu'],
      preferredOutputLocation: location,
      logSeverityLevel: 3,
      extra: { session: { disable_cpu_ep_fallback: '1' } },
    });
  }

  /** Identity session of a given rank (symbolic dims) and precision whose output lives on `loc`. */
  async function identity(rank: number, loc: 'gpu-buffer' | 'cpu', p: PeerPrecision = 'f32'): Promise<InferenceSession> {
    const key = `${rank}:${loc}:${p}`;
    let s = io.get(key);
    if (!s) {
      const dims = Array.from({ length: rank }, (_, i) => `d${i}`);
      s = await session(encodeModel([{ opType: 'Identity', input: ['x'], output: ['y'] }], [['x', dims]], [['y', dims]], [], elemTypeOf(p)), loc);
      io.set(key, s);
    }
    return s;
  }

  async function upload(data: Float32Array, dims: number[], p: PeerPrecision): Promise<OrtTensor> {
    const s = await identity(dims.length, 'gpu-buffer', p);
    const { Tensor } = libs().ort;
    const t = p === 'f16' ? new Tensor('float16', toF16Bits(data), dims) : new Tensor('float32', data, dims);
    return (await s.run({ x: t })).y as OrtTensor;
  }

  /**
   * Builds `nodes` (computing `out` with shape outDims) plus the probe, uploads the inputs, runs warmup + runs
   * (each timed until the probe is on the host), then downloads the last output once.
   */
  async function timeModel(nodes: NodeProto[], inputs: [string, number[], Float32Array][], outDims: number[], init: TensorProto[], opts: PeerRunOpts, extraOutputs: [string, number[]][] = []): Promise<PeerResult> {
    const r = outDims.length;
    const p = opts.precision ?? 'f32';
    const probe: NodeProto = { opType: 'Slice', input: ['out', 'probe_starts', 'probe_ends'], output: ['probe'] };
    const model = encodeModel([...nodes, probe], inputs.map(([n, d]) => [n, d]), [['out', outDims], ['probe', Array(r).fill(1)], ...extraOutputs],
      [...init, int64s('probe_starts', Array(r).fill(0)), int64s('probe_ends', Array(r).fill(1))], elemTypeOf(p));
    // Extra outputs (a decode step's present key/value) stay on the GPU, as a decode loop keeps them.
    const s = await session(model, { out: 'gpu-buffer', probe: 'cpu', ...Object.fromEntries(extraOutputs.map(([n]) => [n, 'gpu-buffer' as const])) });
    const feeds: Record<string, OrtTensor> = {};
    let last: OrtTensor | undefined;
    try {
      for (const [name, dims, data] of inputs) feeds[name] = await upload(data, dims, p);
      const samples: number[] = [];
      for (let i = 0; i < opts.warmup + opts.runs; i++) {
        last?.dispose();
        last = undefined;
        const t0 = performance.now();
        const res = await s.run(feeds);
        const ms = performance.now() - t0;
        last = res.out as OrtTensor;
        for (const [n] of extraOutputs) (res[n] as OrtTensor | undefined)?.dispose();
        if (i >= opts.warmup) samples.push(ms);
      }
      if (!last) throw new Error('onnxruntime peer: runs + warmup must be ≥ 1');
      const down = await (await identity(r, 'cpu', p)).run({ x: last });
      const output = pick(widen((down.y as OrtTensor).data), opts.sample);
      return { output, timing: summarizeTimings(samples) };
    } finally {
      last?.dispose();
      for (const t of Object.values(feeds)) t.dispose();
      await s.release();
    }
  }

  return {
    name: 'onnxruntime-webgpu',

    async init() {
      // Both are CommonJS: depending on what Node's CJS export detection finds, the names sit on the
      // namespace or only on `default`.
      const ortNs = (await (options.load ? options.load() : import('onnxruntime-node'))) as Partial<Ort> & { default?: Ort };
      const o: Ort = ortNs.InferenceSession ? (ortNs as Ort) : ortNs.default!;
      const protoNs = (await import('onnx-proto')) as { onnx?: typeof OnnxNs; default?: { onnx: typeof OnnxNs } };
      onnx = protoNs.onnx ?? protoNs.default!.onnx;
      if (!o.listSupportedBackends().some((b) => b.name === 'webgpu')) throw new Error('onnxruntime peer: this build has no webgpu EP');
      ort = o;
      const adapter = await options.describeWith?.requestAdapter({ powerPreference: 'high-performance' });
      const i = adapter?.info;
      const seen = i ? [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') : '';
      description = `onnxruntime-node ${o.env.versions.common} WebGPU EP (own Dawn${seen ? `; adapter not exposed, this machine's Dawn picks: ${seen}` : ''})`;
    },

    adapterDescription: () => description,

    async matmul(a, b, M, N, K, opts: MatmulOpts) {
      // A·Bᵀ as Gemm(transB=1), the ONNX way to say it; A·B as MatMul. Gemm is 2-D only: a batched A·Bᵀ is
      // MatMul after a Transpose of B's last two axes (B·K·N elements moved, small beside 2·B·M·N·K FLOPs).
      const batch = opts.batch ?? 1;
      const lead = batch > 1 ? [batch] : [];
      const bDims = [...lead, ...(opts.transB ? [N, K] : [K, N])];
      let nodes: NodeProto[];
      if (!opts.transB) nodes = [{ opType: 'MatMul', input: ['a', 'b'], output: ['out'] }];
      else if (batch === 1) nodes = [{ opType: 'Gemm', input: ['a', 'b'], output: ['out'], attribute: [{ name: 'transB', type: 2, i: 1 }] }];
      else {
        nodes = [
          { opType: 'Transpose', input: ['b'], output: ['bt'], attribute: [{ name: 'perm', type: 7, ints: [0, 2, 1] }] },
          { opType: 'MatMul', input: ['a', 'bt'], output: ['out'] },
        ];
      }
      return timeModel(nodes, [['a', [...lead, M, K], a], ['b', bDims, b]], [...lead, M, N], [], opts);
    },

    async softmax(x, rows, cols, opts) {
      const node: NodeProto = { opType: 'Softmax', input: ['x'], output: ['out'], attribute: [{ name: 'axis', type: 2, i: -1 }] };
      return timeModel([node], [['x', [rows, cols], x]], [rows, cols], [], opts);
    },

    async attention(q, k, v, shape: AttentionShape, opts) {
      const { heads: H, seq: S, kvSeq: L, dHead: D, causal } = shape;
      const W = H * D;
      // com.microsoft MultiHeadAttention: query [B, S, W], key/value [B, L, W] (BSNH), output [B, S, W];
      // scale defaults to 1/√dHead. Inputs 3–4 (bias, key_padding_mask) unused; 5 is attention_bias.
      // Seen on lavapipe (subgroup size 8): from seq ≥ 32 ORT switches to FlashAttention, whose fp32 output is
      // wrong (max error 0.01–0.05, output RMS 0.06–0.23) in every row that sees more than 8 keys, with the
      // bias and with unidirectional alike. Left as is on purpose: the benchmark's check is what reports it.
      const attrs: OnnxNs.IAttributeProto[] = [{ name: 'num_heads', type: 2, i: H }];
      const init: TensorProto[] = [];
      const mhaInputs = ['q', 'k', 'v'];
      if (causal && options.causalVia === 'unidirectional' && S === L) {
        attrs.push({ name: 'unidirectional', type: 2, i: 1 });
      } else if (causal) {
        const bias = new Float32Array(S * L);
        for (let i = 0; i < S; i++) for (let j = i + 1; j < L; j++) bias[i * L + j] = -Infinity;
        // A constant initializer: uploaded when the session is created, not in the timed runs.
        const f16 = opts.precision === 'f16';
        const raw = f16 ? new Uint8Array(toF16Bits(bias).buffer) : new Uint8Array(bias.buffer);
        init.push({ name: 'causal_bias', dims: [1, 1, S, L], dataType: f16 ? FLOAT16 : FLOAT, rawData: raw });
        mhaInputs.push('', '', 'causal_bias');
      }
      const node: NodeProto = { opType: 'MultiHeadAttention', domain: 'com.microsoft', input: mhaInputs, output: ['out'], attribute: attrs };
      return timeModel([node], [['q', [1, S, W], q], ['k', [1, L, W], k], ['v', [1, L, W], v]], [1, S, W], init, opts);
    },

    async decode(q, k, v, shape: DecodeShape, opts) {
      // com.microsoft MultiHeadAttention with past_key/past_value, as a decode loop runs it: query, key and value
      // of the new token [1, 1, W] (BSNH), past_key/past_value the n_kv − 1 cached rows [1, H, n_kv − 1, D]
      // (BNSH), outputs the attention [1, 1, W] and present_key/present_value [1, H, n_kv, D] (the past with the
      // new row appended, kept on the GPU: the next step's past). Inputs 3–5 (bias, key_padding_mask,
      // attention_bias) unused.
      const { heads: H, nKv: L, dHead: D } = shape;
      const W = H * D;
      const past = (rows: Float32Array) => {
        const out = new Float32Array(H * (L - 1) * D);
        for (let j = 0; j < L - 1; j++) for (let h = 0; h < H; h++) out.set(rows.subarray(j * W + h * D, j * W + (h + 1) * D), (h * (L - 1) + j) * D);
        return out;
      };
      const node: NodeProto = {
        opType: 'MultiHeadAttention', domain: 'com.microsoft',
        input: ['q', 'k', 'v', '', '', '', 'past_k', 'past_v'], output: ['out', 'present_k', 'present_v'],
        attribute: [{ name: 'num_heads', type: 2, i: H }],
      };
      return timeModel([node], [
        ['q', [1, 1, W], q], ['k', [1, 1, W], k.subarray((L - 1) * W)], ['v', [1, 1, W], v.subarray((L - 1) * W)],
        ['past_k', [1, H, L - 1, D], past(k)], ['past_v', [1, H, L - 1, D], past(v)],
      ], [1, 1, W], [], opts, [['present_k', [1, H, L, D]], ['present_v', [1, H, L, D]]]);
    },

    async dispose() {
      for (const s of io.values()) await s.release();
      io.clear();
      ort = undefined;
      onnx = undefined;
    },
  };
}
