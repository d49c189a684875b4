// The kernels' contracts that need no GPU: the pipeline key, the preprocessor and the files withShared appends (and
// compile errors that name them), the matmul grid, softmax's power-of-two workgroup, and every kernel's uniform packing
// against its WGSL struct. The packing: the `Params` struct is parsed from the .wgsl
// file (member names and types, in order), each host's prepare function runs on a recording stand-in for the device,
// and the bytes it writes into the uniform buffer are read back member by member. The calls use a distinct value per
// field, so a host that packs a field in another member's place (or a struct that gains, loses or reorders a member
// alone) fails here, where on a GPU it would read a wrong stride or offset silently.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/device.js';
import type { PipelineCache } from '../../src/gpu/pipelines.js';
import { compileErrorLines, variantKey } from '../../src/gpu/pipelines.js';
import { preprocess, sourceLine, withShared } from '../../src/gpu/preprocess.js';
import { InputError } from '../../src/gpu/errors.js';
import { Usage } from '../../src/gpu/usage.js';
import { prepareAttention, SHUFFLE_ATTENTION_TILE } from '../../src/kernels/attention.js';
import { prepareDecode } from '../../src/kernels/decode.js';
import { prepareEmbed } from '../../src/kernels/embed.js';
import { prepareFill } from '../../src/kernels/fill_random.js';
import { prepareFiniteCheck } from '../../src/kernels/finite_check.js';
import { prepareLayerNorm } from '../../src/kernels/layernorm.js';
import { DEFAULT_TILE, matmulGrid, matmulVariant, prepareMatmul } from '../../src/kernels/matmul.js';
import { withReduction } from '../../src/kernels/reduce.js';
import { prepareSoftmax } from '../../src/kernels/softmax.js';

interface Member {
  name: string;
  type: string;
}

/** The members of `struct NAME { … }` in a .wgsl file, comments stripped. */
export function wgslStruct(file: string, name = 'Params'): Member[] {
  const source = readFileSync(new URL(`../../shaders/${file}`, import.meta.url), 'utf8').replace(/\/\/[^\n]*/g, '');
  const body = new RegExp(`struct\\s+${name}\\s*\\{([^}]*)\\}`).exec(source)?.[1];
  if (body === undefined) throw new Error(`no struct ${name} in shaders/${file}`);
  return body.split(',').map((m) => m.trim()).filter(Boolean).map((m) => {
    const [memberName, type] = m.split(':').map((s) => s.trim());
    return { name: memberName!, type: type! };
  });
}

/** A device that records what is written into uniform buffers; pipelines and bind groups are stand-ins. */
function recordingGpu() {
  // Each uniform buffer's last whole write, in the order the buffers were created.
  const written = new Map<object, ArrayBuffer>();
  const uniformBuffers: object[] = [];
  const device = {
    createBuffer: (d: GPUBufferDescriptor) => {
      const buffer = { size: d.size, label: d.label ?? '', destroy() {} };
      if (d.usage & Usage.UNIFORM) uniformBuffers.push(buffer);
      return buffer;
    },
    queue: {
      writeBuffer: (buffer: object, offset: number, data: ArrayBuffer | ArrayBufferView) => {
        if (!uniformBuffers.includes(buffer) || offset !== 0) return;
        written.set(buffer, (ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data.slice(0)) as ArrayBuffer);
      },
    },
    createBindGroup: () => ({}),
  };
  const limits = {
    maxComputeWorkgroupsPerDimension: 65535, minStorageBufferOffsetAlignment: 256, maxStorageBufferBindingSize: 2 ** 31,
    maxBufferSize: 2 ** 40, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024,
    maxComputeWorkgroupStorageSize: 49152,
  };
  const gpu = {
    device, limits, hasF16: true, hasSubgroups: true, hasTimestamps: false,
    adapterInfo: { name: 'recording stand-in', vendor: 'test', architecture: '', device: '', description: '', isSoftware: false, subgroupMinSize: 32, subgroupMaxSize: 32 },
    scoped: async <T>(_label: string, f: () => T | Promise<T>) => f(),
  } as unknown as GpuContext;
  const cache = { get: async () => ({ getBindGroupLayout: () => ({}) }) } as unknown as PipelineCache;
  const uniforms = (): (ArrayBuffer | undefined)[] => uniformBuffers.map((b) => written.get(b));
  return { gpu, cache, uniforms };
}

/** Reads the uniform as the struct lays it out (every member a 4-byte scalar) and checks each against `want`. */
function expectPacked(file: string, bytes: ArrayBuffer | undefined, want: Record<string, number>): void {
  const members = wgslStruct(file);
  expect(bytes, 'a uniform buffer was written').toBeDefined();
  for (const m of members) expect(['u32', 'f32'], `${file}: ${m.name} is a 4-byte scalar (the packing has no padding rules)`).toContain(m.type);
  expect(members.map((m) => m.name).sort(), `${file}: the struct's members are the host's fields`).toEqual(Object.keys(want).sort());
  expect(bytes!.byteLength, `${file}: the buffer holds the struct, rounded up to 16 bytes`).toBe(Math.max(16, Math.ceil(members.length / 4) * 16));
  const u = new Uint32Array(bytes!);
  const f = new Float32Array(bytes!);
  members.forEach((m, i) => {
    const got = m.type === 'u32' ? u[i] : f[i];
    expect(got, `${file}: member ${i} '${m.name}' (${m.type})`).toBe(m.type === 'f32' ? Math.fround(want[m.name]!) : want[m.name]);
  });
}

const buffer = (size = 1 << 24) => ({ size }) as GPUBuffer;

describe('uniform packing, host against the WGSL struct (no GPU)', () => {
  it('matmul: 18 fields of shaders/matmul_params.wgsl, by position', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const call = {
      label: 'mm', M: 11, N: 12, K: 13, lda: 14, ldb: 15, ldc: 16, offA: 17, offB: 18, offC: 19, batch: 2, batchA: 200, batchB: 210, batchC: 220,
      alpha: 0.375, causal: 'limit-k' as const, causalOffset: 23, offBias: 24, accumulate: true, transB: true,
      a: { buffer: buffer() }, b: { buffer: buffer() }, c: { buffer: buffer() }, bias: { buffer: buffer() }, tile: DEFAULT_TILE,
    };
    await prepareMatmul(gpu, cache, call);
    expectPacked('matmul_params.wgsl', uniforms()[0], {
      M: 11, N: 12, K: 13, lda: 14, ldb: 15, ldc: 16, offA: 17, offB: 18, offC: 19, batchA: 200, batchB: 210, batchC: 220,
      alpha: 0.375, causal: 2, causalOffset: 23, offBias: 24, accumulate: 1, hasBias: 1,
    });
  });

  it('attention', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const b = { buffer: buffer() };
    await prepareAttention(gpu, cache, {
      label: 'att', q: b, k: b, v: b, out: b, seq: 5, kvSeq: 9, heads: 2, dHead: 16, ldQ: 40, ldK: 41, ldO: 42,
      offQ: 3, offK: 4, offV: 6, offO: 7, causal: true, causalOffset: 4, scale: 0.125,
    });
    expectPacked('attention_params.wgsl', uniforms()[0], { seq: 5, kvSeq: 9, d: 16, ldQ: 40, ldK: 41, ldO: 42, offQ: 3, offK: 4, offV: 6, offO: 7, causal: 1, causalOffset: 4, scale: 0.125 });
  });

  it('attention, the subgroup variant (the same call and uniform)', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const b = { buffer: buffer() };
    await prepareAttention(gpu, cache, {
      label: 'att', q: b, k: b, v: b, out: b, seq: 5, kvSeq: 9, heads: 2, dHead: 16, ldQ: 40, ldK: 41, ldO: 42,
      offQ: 3, offK: 4, offV: 6, offO: 7, causal: true, causalOffset: 4, scale: 0.125, tile: SHUFFLE_ATTENTION_TILE,
    });
    expectPacked('attention_params.wgsl', uniforms()[0], { seq: 5, kvSeq: 9, d: 16, ldQ: 40, ldK: 41, ldO: 42, offQ: 3, offK: 4, offV: 6, offO: 7, causal: 1, causalOffset: 4, scale: 0.125 });
  });

  it('softmax', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const d = await prepareSoftmax(gpu, cache, { label: 'sm', scores: { buffer: buffer() }, offset: 8, rows: 70000 * 2, cols: 9, seq: 7, causal: true, causalOffset: 2 });
    expectPacked('softmax.wgsl', uniforms()[0], { rows: 140000, cols: 9, seq: 7, causal: 1, causalOffset: 2, groupsX: d.grid[0], offset: 8 });
    expect(d.grid[1], 'rows past 65535 fold into a second grid dimension').toBeGreaterThan(1);
  });

  it('layernorm', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const d = await prepareLayerNorm(gpu, cache, { label: 'ln', x: { buffer: buffer() }, y: { buffer: buffer() }, params: { buffer: buffer() }, rows: 33, dModel: 64, eps: 1e-5, gainOffset: 3, biasOffset: 70 });
    expectPacked('layernorm.wgsl', uniforms()[0], { rows: 33, dModel: 64, groupsX: d.grid[0], gainOffset: 3, biasOffset: 70, eps: 1e-5 });
  });

  it('fill_random', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const d = await prepareFill(gpu, cache, { label: 'fill', out: { buffer: buffer() }, key: 0xdeadbeef, count: 1000, scale: 0.5, offset: 77 });
    expectPacked('fill_random.wgsl', uniforms()[0], { key: 0xdeadbeef, offset: 77, count: 1000, scale: 0.5, groupsX: d.grid[0] });
  });

  it('finite_check', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const check = await prepareFiniteCheck(gpu, cache, { buffer: buffer() }, 5000);
    expectPacked('finite_check.wgsl', uniforms()[0], { count: 5000, layer: 0, groupsX: check.dispatch.grid[0] });
  });

  it('decode: the split windows and the combine, as setLength writes them', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const plan = await prepareDecode(gpu, cache, { label: 'dec', q: buffer(), kCache: buffer(), vCache: buffer(), out: buffer(), heads: 2, dHead: 16, maxSeq: 64, n: 10, offQ: 3, offO: 5, scale: 0.25 });
    const fixed = { n: 10, d: 16, maxSeq: 64, chunk: plan.chunk, offQ: 3, offO: 5, scale: 0.25, offKV: 0 };
    const u = uniforms();
    expect(u, 'one split window (the caches fit a binding) and the combine').toHaveLength(2);
    const slots = new Uint32Array(u[0]!)[wgslStruct('decode.wgsl').findIndex((m) => m.name === 'slots')]!;
    expect(slots, 'partial slots per head').toBeGreaterThanOrEqual(plan.splits);
    expectPacked('decode.wgsl', u[0], { ...fixed, headBase: 0, keyBase: 0, keyEnd: 64, slotBase: 0, slots, used: 0 });
    expectPacked('decode.wgsl', u[1], { ...fixed, headBase: 0, keyBase: 0, keyEnd: 64, slotBase: 0, slots, used: plan.splits });
    plan.setLength(40);
    expectPacked('decode.wgsl', uniforms()[1], { ...fixed, n: 40, chunk: plan.chunk, headBase: 0, keyBase: 0, keyEnd: 64, slotBase: 0, slots, used: plan.splits });
  });

  it('covers every shader with a Params struct (a new kernel adds its case here)', () => {
    const shaders = readdirSync(new URL('../../shaders/', import.meta.url)).filter((f) => f.endsWith('.wgsl'));
    const withParams = shaders.filter((f) => /^struct Params\b/m.test(readFileSync(new URL(`../../shaders/${f}`, import.meta.url), 'utf8')));
    const covered = new Set([...readFileSync(new URL(import.meta.url), 'utf8').matchAll(/expectPacked\('([\w.]+)'/g)].map((m) => m[1]));
    expect(withParams.filter((f) => !covered.has(f))).toEqual([]);
  });

  it('embed, one uniform per chunk of the token table', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const ds = await prepareEmbed(gpu, cache, {
      label: 'embed', tokens: buffer(), table: buffer(), positions: buffer(), x: buffer(), seq: 6, dModel: 64, vocab: 10, positionRows: 12, positionOffset: 2, chunkRows: 4,
    });
    expect(ds).toHaveLength(3);
    // Position row 2 of 64 f32 values starts at byte 512, aligned: posBase 0.
    [[0, 4], [4, 4], [8, 2]].forEach(([rowStart, rowCount], i) => {
      expectPacked('embed.wgsl', uniforms()[i], { seq: 6, dModel: 64, rowStart: rowStart!, rowCount: rowCount!, posBase: 0, groupsX: ds[i]!.grid[0] });
    });
  });
});

describe('pipeline keys, the preprocessor and shared files (no GPU)', () => {
  it('variantKey: name, flags and constants, in any order; sizes are not in it', () => {
    const a = variantKey({ name: 'softmax', source: 'x', flags: ['subgroups', 'f16'], constants: { WG: 64, ONE_SUBGROUP: 0 } });
    expect(a).toBe('softmax[f16,subgroups]{ONE_SUBGROUP=0,WG=64}');
    expect(variantKey({ name: 'softmax', source: 'other text', flags: ['f16', 'subgroups'], constants: { ONE_SUBGROUP: 0, WG: 64 } })).toBe(a);
    expect(variantKey({ name: 'softmax', source: 'x', flags: ['f16', 'subgroups'], constants: { ONE_SUBGROUP: 0, WG: 32 } })).not.toBe(a);
    expect(variantKey({ name: 'layernorm', source: 'x', flags: ['f16', 'subgroups'], constants: { ONE_SUBGROUP: 0, WG: 64 } })).not.toBe(a);
    expect(variantKey({ name: 'k', source: '' })).toBe('k[]{}');
    // A matmul variant is its tile, layout, types and epilogue: nothing of the shape.
    expect(variantKey(matmulVariant({ transB: true, tile: DEFAULT_TILE }, true))).not.toBe(variantKey(matmulVariant({ transB: false, tile: DEFAULT_TILE }, true)));
  });

  it('preprocess: `//#FLAG text` becomes `text`, indented, where FLAG is on; every line stays where it was', () => {
    const src = 'alias elem = f32; //#f16 alias elem = f16;\n  x = 1; //#sg x = 2;\n//#f16 enable f16;\nplain // a comment';
    expect(preprocess(src, new Set())).toBe(src);
    expect(preprocess(src, new Set(['f16']))).toBe('alias elem = f16;\n  x = 1; //#sg x = 2;\nenable f16;\nplain // a comment');
    expect(preprocess(src, new Set(['sg'])).split('\n')[1]).toBe('  x = 2;');
    expect(preprocess(src, new Set(['f16', 'sg'])).split('\n')).toHaveLength(4);
  });

  it('withShared appends each file after a line naming it; sourceLine maps a line back to its file', () => {
    const code = withShared('a\nb\nc', { file: 'one.wgsl', text: 'p\nq' }, { file: 'two.wgsl', text: 'r' });
    expect(code.split('\n')).toEqual(['a', 'b', 'c', '//@file one.wgsl', 'p', 'q', '//@file two.wgsl', 'r']);
    expect(sourceLine(code, 2, 'k.wgsl')).toEqual({ file: 'k.wgsl', line: 2 });
    expect(sourceLine(code, 5, 'k.wgsl')).toEqual({ file: 'one.wgsl', line: 1 });
    expect(sourceLine(code, 6, 'k.wgsl')).toEqual({ file: 'one.wgsl', line: 2 });
    expect(sourceLine(code, 8, 'k.wgsl')).toEqual({ file: 'two.wgsl', line: 1 });
  });

  it('a compile error in reduce.wgsl, appended to softmax, names reduce.wgsl and its own line', () => {
    const softmax = readFileSync(new URL('../../shaders/softmax.wgsl', import.meta.url), 'utf8');
    const reduce = readFileSync(new URL('../../shaders/reduce.wgsl', import.meta.url), 'utf8');
    const code = preprocess(withReduction(softmax), new Set(['subgroups']));
    const ownLines = softmax.split('\n').length;
    const lines = compileErrorLines('softmax', code, [
      { lineNum: 3, linePos: 5, message: 'in the kernel' },
      { lineNum: ownLines + 1 + 7, linePos: 2, message: 'in the reduction' },
    ]);
    expect(lines).toBe(`  softmax.wgsl:3:5 in the kernel\n  reduce.wgsl:7:2 in the reduction`);
    expect(reduce.split('\n').length, 'reduce.wgsl has a line 7').toBeGreaterThan(7);
  });
});

describe('matmul grid and softmax workgroup (no GPU)', () => {
  it('matmulGrid: one workgroup per output tile (columns along x, rows along y), batches along z, never 0', () => {
    const t = DEFAULT_TILE;
    const [cols, rows] = [t.wgX * t.rb, t.wgY * t.rb];
    expect(matmulGrid({ M: 1, N: 1, tile: t })).toEqual([1, 1, 1]);
    expect(matmulGrid({ M: rows, N: cols, tile: t })).toEqual([1, 1, 1]);
    expect(matmulGrid({ M: rows + 1, N: 2 * cols + 1, batch: 96, tile: t })).toEqual([3, 2, 96]);
    expect(matmulGrid({ M: 0, N: 0, tile: t })).toEqual([1, 1, 1]);
    expect(matmulGrid({ M: 33, N: 17, tile: { kernel: 'shuffle' } })).toEqual([2, 3, 1]); // 16×16 tiles
  });

  it('softmax refuses a workgroup that is not a power of two before any GPU work, naming it', async () => {
    const { gpu, cache, uniforms } = recordingGpu();
    const call = { label: 'sm', scores: { buffer: buffer() }, rows: 4, cols: 9, seq: 4, causal: true };
    for (const workgroupSize of [48, 0, 2048]) {
      await expect(prepareSoftmax(gpu, cache, { ...call, workgroupSize })).rejects.toThrow(InputError);
      await expect(prepareSoftmax(gpu, cache, { ...call, workgroupSize })).rejects.toThrow(`sm: workgroupSize ${workgroupSize} must be a power of two ≤ 1024`);
    }
    expect(uniforms()).toHaveLength(0);
    await prepareSoftmax(gpu, cache, { ...call, workgroupSize: 64 });
  });
});
