// Host side of shaders/decode.wgsl: one decode step's attention core (one query row per head
// against the first n rows of a [heads, maxSeq, dHead] KV cache), split over key blocks across
// workgroups and merged exactly (flash-decoding). Thread shapes per adapter, the split count, the
// binding windows, parameter packing and grids. One pipeline pair serves every step: the cache's
// length rides in the uniforms (setLength).

import decodeSource from '../../shaders/decode.wgsl';
import { createStorage, createUniform, packUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { asBinding, bindGroup, checkGrid, checkIndexRange, type Binding, type PreparedDispatch } from '../gpu/dispatch.js';
import { bytesPer, checkPrecision, precisionFlags, requireF16, type Precision } from '../gpu/precision.js';
import { withShared } from '../gpu/preprocess.js';
import { KV_WORDS } from './kv-words.js';

/** decode.wgsl with what it shares with the fused attention appended (shaders/kv_words.wgsl). */
export const decodeKernelSource = (kernel: string = decodeSource): string => withShared(kernel, KV_WORDS);

/** Keys a stream scores per step (KB) and the register bound (MAX_WORDS): mirror shaders/decode.wgsl. */
export const DECODE_KEYS_PER_STEP = 4;
export const DECODE_MAX_WORDS = 32;

export interface DecodeShape {
  /** Threads a workgroup (W). */
  threads: number;
  /** Threads sharing one key row (G); above 1 the kernel sums scores with subgroup shuffles. */
  lanesPerRow: number;
}

/**
 * Software adapters (lavapipe): a workgroup is one 8-lane subgroup and one stream, its 8 lanes
 * sharing each key row (a 64-wide row is one 256-byte run of vector loads, the score summed by
 * three shuffles); one thread a row ran at a third of the speed and its unrolled 16-word rows took
 * lavapipe minutes to compile (bench/RESULTS.md). Hardware: 64 threads, 8 a row, so a warp reads
 * four rows' 128-byte runs at once (not measured on a GPU yet). Without subgroups: a row a thread.
 */
export const SOFTWARE_DECODE_SHAPE: DecodeShape = { threads: 8, lanesPerRow: 8 };
export const HARDWARE_DECODE_SHAPE: DecodeShape = { threads: 64, lanesPerRow: 8 };
export const HARDWARE_DECODE_FALLBACK: DecodeShape = { threads: 64, lanesPerRow: 1 };

/** Workgroups a step aims for (heads × splits) and the fewest keys a split takes, per adapter kind. */
const TARGET_WORKGROUPS = { software: 16, hardware: 1024 };
const MIN_CHUNK = { software: 512, hardware: 128 };

/** Words of a row per thread for a head width (WORDS in the shader). */
const wordsPerThread = (s: DecodeShape, dHead: number): number => Math.ceil(Math.ceil(dHead / 4) / s.lanesPerRow);

export interface DecodeCaps {
  subgroups: boolean;
  subgroupMinSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
}

const capsOf = (gpu: GpuContext): DecodeCaps => ({
  subgroups: gpu.hasSubgroups,
  subgroupMinSize: gpu.adapterInfo.subgroupMinSize,
  maxComputeInvocationsPerWorkgroup: gpu.limits.maxComputeInvocationsPerWorkgroup,
  maxComputeWorkgroupSizeX: gpu.limits.maxComputeWorkgroupSizeX,
});

/** Why a thread shape cannot run a head width here, or null when it can. */
export function decodeShapeProblem(s: DecodeShape, dHead: number, caps: DecodeCaps): string | null {
  const g = s.lanesPerRow;
  if (!Number.isInteger(g) || g < 1 || (g & (g - 1)) !== 0) return `lanes per row ${g} must be a power of 2`;
  if (!Number.isInteger(s.threads) || s.threads % g !== 0) return `threads ${s.threads} must be a multiple of lanes per row ${g}`;
  if (s.threads > caps.maxComputeInvocationsPerWorkgroup || s.threads > caps.maxComputeWorkgroupSizeX) return `${s.threads} threads exceed the workgroup limits`;
  if (wordsPerThread(s, dHead) > DECODE_MAX_WORDS) return `d_head ${dHead} needs ${4 * wordsPerThread(s, dHead)} columns a thread (at most ${4 * DECODE_MAX_WORDS} with ${g} lanes a row)`;
  if (g > 1 && !caps.subgroups) return `${g} lanes a row need the subgroups feature, which this adapter lacks`;
  if (g > 1 && caps.subgroupMinSize < g) return `${g} lanes a row need subgroups at least ${g} wide; this adapter's smallest is ${caps.subgroupMinSize || 'not reported'}`;
  return null;
}

export function chooseDecodeShape(dHead: number, caps: DecodeCaps, software: boolean): DecodeShape | null {
  const list = software ? [SOFTWARE_DECODE_SHAPE, { threads: 8, lanesPerRow: 1 }] : [HARDWARE_DECODE_SHAPE, { threads: 64, lanesPerRow: 4 }, HARDWARE_DECODE_FALLBACK];
  return list.find((s) => decodeShapeProblem(s, dHead, caps) === null) ?? null;
}

/**
 * Keys per split for a cache length: enough splits that heads × splits reaches the adapter's
 * target (every core busy for one token at 96 heads), none under the minimum chunk (each split
 * costs a partial to write and merge), the chunk a multiple of one step of every stream.
 */
export function decodeChunk(n: number, heads: number, streams: number, software: boolean): number {
  const step = streams * DECODE_KEYS_PER_STEP;
  return Math.ceil(Math.ceil(n / decodeSplits(n, heads, software)) / step) * step;
}

/** Splits a head's keys take at cache length n (at most; the chunk's rounding may leave fewer). */
export function decodeSplits(n: number, heads: number, software: boolean): number {
  const kind = software ? 'software' : 'hardware';
  const wanted = Math.max(1, Math.ceil(TARGET_WORKGROUPS[kind] / heads));
  return Math.max(1, Math.min(wanted, Math.ceil(n / MIN_CHUNK[kind])));
}

/** One pass-1 dispatch's share of the cache: heads [headBase, +heads), keys [keyBase, keyEnd). */
export interface DecodeWindow {
  headBase: number;
  heads: number;
  keyBase: number;
  keyEnd: number;
  /** Byte offset of the binding (aligned) and the element where the window's first row starts in it. */
  byteOffset: number;
  byteSize: number;
  offKV: number;
}

/**
 * Binding windows over a [heads, maxSeq, dHead] cache starting at `cacheOffset` bytes: all heads
 * in one when they fit `limit` bytes, else groups of whole heads, else (one head over the limit)
 * runs of keys of one head. Offsets are aligned down to `align`, the rest carried as offKV.
 */
export function decodeWindows(heads: number, maxSeq: number, dHead: number, bytes: number, cacheOffset: number, limit: number, align: number): DecodeWindow[] {
  const headBytes = maxSeq * dHead * bytes;
  const window = (headBase: number, hs: number, keyBase: number, keyEnd: number): DecodeWindow => {
    const start = cacheOffset + headBase * headBytes + keyBase * dHead * bytes;
    const byteOffset = Math.floor(start / align) * align;
    const end = cacheOffset + (headBase + hs - 1) * headBytes + keyEnd * dHead * bytes;
    return { headBase, heads: hs, keyBase, keyEnd, byteOffset, byteSize: Math.ceil((end - byteOffset) / 4) * 4, offKV: (start - byteOffset) / bytes };
  };
  const room = limit - align; // what a window may span after its offset is aligned down
  if (cacheOffset % align === 0 && heads * headBytes <= limit) return [window(0, heads, 0, maxSeq)];
  const out: DecodeWindow[] = [];
  if (headBytes <= room) {
    const per = Math.floor(room / headBytes);
    for (let h = 0; h < heads; h += per) out.push(window(h, Math.min(per, heads - h), 0, maxSeq));
    return out;
  }
  const keys = Math.floor(room / (dHead * bytes));
  if (keys < 1) throw new InputError(`decode: one cache row of ${dHead * bytes} bytes does not fit a ${limit}-byte storage binding`);
  for (let h = 0; h < heads; h++) for (let j = 0; j < maxSeq; j += keys) out.push(window(h, 1, j, Math.min(maxSeq, j + keys)));
  return out;
}

export interface DecodeCall {
  label: string;
  /** The new token's query row: heads·dHead values from element offQ, head h's at offQ + h·dHead. */
  q: GPUBuffer | Binding;
  /** The caches, [heads, maxSeq, dHead] each (row j of head h at h·maxSeq·dHead + j·dHead), from the binding's offset. */
  kCache: GPUBuffer | Binding;
  vCache: GPUBuffer | Binding;
  /** heads·dHead outputs from element offO. */
  out: GPUBuffer | Binding;
  heads: number;
  dHead: number;
  maxSeq: number;
  /** The cache's length: keys 0 .. n − 1 are attended (setLength changes it per step). */
  n: number;
  offQ?: number;
  offO?: number;
  /** Default 1/√dHead. */
  scale?: number;
  /** Storage of q, the caches and out (default f32); scores, softmax and sums are f32 either way. */
  precision?: Precision;
  shape?: DecodeShape;
  /** Largest binding in bytes (default the adapter's maxStorageBufferBindingSize; smaller to test the windows). */
  bindingLimit?: number;
}

export interface DecodePlan {
  /** At the current length: the pass-1 dispatches (one per window that holds keys below n), then the combine; encode in order, one pass. */
  readonly dispatches: readonly PreparedDispatch[];
  /** Keys per split and splits per head at the current length. */
  readonly chunk: number;
  readonly splits: number;
  readonly shape: DecodeShape;
  /** Moves the step to a new cache length: rewrites the uniforms (queue-ordered before the next submit) and grids. */
  setLength(n: number): void;
  destroy(): void;
}

function checkLength(label: string, n: number, maxSeq: number): void {
  if (!Number.isInteger(n) || n < 1 || n > maxSeq) throw new InputError(`${label}: cache length ${n} must be an integer in 1 .. maxSeq ${maxSeq}`);
}

export async function prepareDecode(gpu: GpuContext, cache: PipelineCache, call: DecodeCall): Promise<DecodePlan> {
  const { label, heads, dHead, maxSeq } = call;
  for (const [name, x] of [['heads', heads], ['dHead', dHead], ['maxSeq', maxSeq]] as const) {
    if (!Number.isInteger(x) || x < 1) throw new InputError(`${label}: ${name} ${x} must be a positive integer`);
  }
  checkLength(label, call.n, maxSeq);
  const software = gpu.adapterInfo.isSoftware;
  const shape = call.shape ?? chooseDecodeShape(dHead, capsOf(gpu), software);
  if (!shape) throw new InputError(`${label}: d_head ${dHead} fits no decode thread shape on this adapter (at most ${4 * DECODE_MAX_WORDS})`);
  const problem = decodeShapeProblem(shape, dHead, capsOf(gpu));
  if (problem) throw new InputError(`${label}: decode shape ${shape.threads} threads, ${shape.lanesPerRow} a row: ${problem}`);
  const precision = checkPrecision(call.precision, label);
  if (precision === 'f16') requireF16(gpu, label);
  const bytes = bytesPer(precision);
  const limit = call.bindingLimit ?? gpu.limits.maxStorageBufferBindingSize;
  if (limit > gpu.limits.maxStorageBufferBindingSize) throw new InputError(`${label}: bindingLimit ${limit} is over maxStorageBufferBindingSize (${gpu.limits.maxStorageBufferBindingSize})`);
  checkIndexRange(`${label} q`, (call.offQ ?? 0) + heads * dHead);
  checkIndexRange(`${label} out`, (call.offO ?? 0) + heads * dHead);
  const align = gpu.limits.minStorageBufferOffsetAlignment;
  const kv = [asBinding(call.kCache), asBinding(call.vCache)];
  if ((kv[0]!.offset ?? 0) !== (kv[1]!.offset ?? 0)) throw new InputError(`${label}: the k and v caches must start at the same byte offset of their buffers`);
  for (const [name, b] of [['k', kv[0]!], ['v', kv[1]!]] as const) {
    const need = heads * maxSeq * dHead * bytes;
    const have = b.size ?? b.buffer.size - (b.offset ?? 0);
    if (have < need) throw new InputError(`${label}: the ${name} cache binding holds ${have} bytes, [${heads}, ${maxSeq}, ${dHead}] needs ${need}`);
  }
  const windows = decodeWindows(heads, maxSeq, dHead, bytes, kv[0]!.offset ?? 0, limit, align);
  for (const w of windows) checkIndexRange(`${label} cache window`, w.offKV + w.heads * maxSeq * dHead);

  const streams = shape.threads / shape.lanesPerRow;
  const constants = { W: shape.threads, G: shape.lanesPerRow, WORDS: wordsPerThread(shape, dHead) };
  // Whole-vector loads where every row starts on a 4-element boundary.
  const v4 = dHead % 4 === 0 && windows.every((w) => w.offKV % 4 === 0);
  // f16 words read as u32 pairs (h4): one 32-bit gather each on lavapipe instead of lane-by-lane 16-bit loads.
  const flags = [...precisionFlags(precision), ...(shape.lanesPerRow > 1 ? ['sub'] : []), ...(v4 ? ['v4'] : []), ...(v4 && precision === 'f16' ? ['h4'] : [])];
  const source = decodeKernelSource();
  const [splitPipeline, combinePipeline] = await Promise.all([
    cache.get({ name: 'decode', source, flags, constants, entryPoint: 'split' }),
    cache.get({ name: 'decode', source, flags, constants, entryPoint: 'combine' }),
  ]);

  // Partial slots per head: the most splits of any length (splits grow with n), plus one per key
  // window (each window's last split may be short).
  const keyWindowsPerHead = windows.filter((w) => w.headBase === 0).length;
  const slots = decodeSplits(maxSeq, heads, software) + keyWindowsPerHead;
  const partialElements = heads * slots * streams * (dHead + 2);
  checkIndexRange(`${label} partials`, partialElements);
  const partial = createStorage(gpu, partialElements, `${label} partials`);
  const owned: GPUBuffer[] = [partial];
  try {
    if (partial.size > gpu.limits.maxStorageBufferBindingSize) throw new InputError(`${label}: ${partial.size} bytes of partials exceed maxStorageBufferBindingSize`);
    const uniforms = windows.map((_, i) => createUniform(gpu, new Array(14).fill({ u32: 0 }), `${label} window ${i} params`));
    const combineUniform = createUniform(gpu, new Array(14).fill({ u32: 0 }), `${label} combine params`);
    owned.push(...uniforms, combineUniform);
    const splitDispatches: PreparedDispatch[] = windows.map((w, i) => ({
      label: `${label} split`,
      pipeline: splitPipeline,
      bindGroup: bindGroup(gpu, splitPipeline, `${label} split ${i}`, [
        call.q,
        { buffer: kv[0]!.buffer, offset: w.byteOffset, size: w.byteSize },
        { buffer: kv[1]!.buffer, offset: w.byteOffset, size: w.byteSize },
        partial,
        uniforms[i]!,
      ]),
      grid: [0, w.heads, 1],
      owned: [],
    }));
    const o = asBinding(call.out);
    const combine: PreparedDispatch = {
      label: `${label} combine`,
      pipeline: combinePipeline,
      bindGroup: gpu.device.createBindGroup({
        label: `${label} combine`,
        layout: combinePipeline.getBindGroupLayout(0),
        entries: [
          { binding: 3, resource: { buffer: partial } },
          { binding: 4, resource: { buffer: combineUniform } },
          { binding: 5, resource: { buffer: o.buffer, offset: o.offset ?? 0, size: o.size ?? o.buffer.size - (o.offset ?? 0) } },
        ],
      }),
      grid: [heads, 1, 1],
      owned: [],
    };
    checkGrid(gpu, label, combine.grid);

    const scale = call.scale ?? 1 / Math.sqrt(dHead);
    const plan = {
      dispatches: [] as readonly PreparedDispatch[],
      chunk: 0,
      splits: 0,
      shape,
      setLength(n: number): void {
        checkLength(label, n, maxSeq);
        const chunk = decodeChunk(n, heads, streams, software);
        const slotBase = new Map<number, number>(); // per head: slots taken by earlier key windows
        windows.forEach((w, i) => {
          const keys = Math.max(0, Math.min(n, w.keyEnd) - w.keyBase);
          const used = Math.ceil(keys / chunk);
          const base = slotBase.get(w.headBase) ?? 0;
          slotBase.set(w.headBase, base + used);
          splitDispatches[i]!.grid = [used, w.heads, 1];
          checkGrid(gpu, label, splitDispatches[i]!.grid);
          gpu.device.queue.writeBuffer(uniforms[i]!, 0, params(n, chunk, w.headBase, w.keyBase, w.keyEnd, base, 0, w.offKV));
        });
        const used = Math.max(...slotBase.values());
        gpu.device.queue.writeBuffer(combineUniform, 0, params(n, chunk, 0, 0, maxSeq, 0, used, 0));
        plan.chunk = chunk;
        plan.splits = used;
        plan.dispatches = [...splitDispatches.filter((d) => d.grid[0] > 0), combine];
      },
      destroy(): void {
        for (const b of owned) b.destroy();
      },
    };
    const params = (n: number, chunk: number, headBase: number, keyBase: number, keyEnd: number, slotBase: number, used: number, offKV: number) =>
      packUniform([
        { u32: n }, { u32: dHead }, { u32: maxSeq }, { u32: chunk },
        { u32: headBase }, { u32: keyBase }, { u32: keyEnd }, { u32: slotBase },
        { u32: slots }, { u32: used }, { u32: call.offQ ?? 0 }, { u32: offKV },
        { u32: call.offO ?? 0 }, { f32: scale },
      ]);
    plan.setLength(call.n);
    return plan;
  } catch (e) {
    for (const b of owned) b.destroy();
    throw e;
  }
}
