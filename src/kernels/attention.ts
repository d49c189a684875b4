// Host side of shaders/attention.wgsl: the fused attention core (scores, masked softmax and
// weighted sums of every head in one dispatch, no pattern buffer): tile configs and their limits,
// parameter packing, grid.

import attentionSource from '../../shaders/attention.wgsl';
import attentionParamsSource from '../../shaders/attention_params.wgsl';
import attentionShuffleSource from '../../shaders/attention_shuffle.wgsl';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, checkGrid, checkIndexRange, type Binding, type PreparedDispatch } from '../gpu/dispatch.js';
import { withShared, type SharedWgsl } from '../gpu/preprocess.js';
import { KV_WORDS } from './kv-words.js';
import type { TileLimits } from './matmul.js';
import { checkPrecision, precisionFlags, requireF16, type Precision } from '../gpu/precision.js';

/** Params and the causal mask both fused kernels read (shaders/attention_params.wgsl, packed below), appended to each. */
const ATTENTION_PARAMS: SharedWgsl = { file: 'attention_params.wgsl', text: attentionParamsSource };

/** Rows of S and O per thread, and the register bounds: mirror RPT, MAX_G and MAX_SC in shaders/attention.wgsl. */
export const RPT = 4;
export const MAX_G = 4;
export const MAX_SC = 4;

export interface AttentionTile {
  /**
   * 'shuffle': shaders/attention_shuffle.wgsl, one subgroup of SHUFFLE_LANES a workgroup, SHUFFLE_ROWS query rows
   * and SHUFFLE_KEYS keys a block, nothing in workgroup memory (br, bc and tx must say so); default: attention.wgsl.
   */
  kernel?: 'shuffle';
  /** Query rows per workgroup (a multiple of 4). */
  br: number;
  /** Keys per block (a multiple of tx). */
  bc: number;
  /** Threads along the columns of S and O. */
  tx: number;
}

/**
 * Best first; the first that fits a call's head width and the adapter's limits runs. Hardware:
 * 128 threads and 38 KiB of tiles at d_head 128 (not ranked on a GPU yet: `npm run tune --
 * --attention` ranks every config there), then 32 threads for WebGPU's default 16 KiB of
 * workgroup storage. Software: each invocation costs CPU time, so few threads per workgroup
 * (the lavapipe ranking is in bench/RESULTS.md); d_head over 64 takes the second entry.
 */
export const HARDWARE_ATTENTION_TILES: readonly AttentionTile[] = [
  { br: 32, bc: 32, tx: 16 },
  { br: 16, bc: 16, tx: 8 },
  { br: 16, bc: 8, tx: 8 },
];
/** attention_shuffle.wgsl's fixed shape: mirror S, RM and S·RN there. */
export const SHUFFLE_LANES = 8;
export const SHUFFLE_ROWS = 8;
export const SHUFFLE_KEYS = 16;
export const SHUFFLE_ATTENTION_TILE: AttentionTile = { kernel: 'shuffle', br: SHUFFLE_ROWS, bc: SHUFFLE_KEYS, tx: SHUFFLE_LANES };

export const SOFTWARE_ATTENTION_TILES: readonly AttentionTile[] = [
  SHUFFLE_ATTENTION_TILE,
  { br: 32, bc: 16, tx: 4 },
  { br: 16, bc: 16, tx: 8 },
  { br: 16, bc: 8, tx: 8 },
];

/** Groups of 4 output columns per thread for a head width (G in the shader): ceil(d / 4·tx). */
const columnGroups = (t: AttentionTile, dHead: number): number => Math.ceil(dHead / (4 * t.tx));

export function attentionStorageBytes(t: AttentionTile, dHead: number): number {
  if (t.kernel === 'shuffle') return 0;
  const ds = t.tx * columnGroups(t, dHead) + 1; // vec4 words per tile row
  return 16 * (t.br * ds + t.bc * ds) + 4 * (t.br * (t.bc + 1) + t.br);
}

/** The widest head the fused kernel takes: GPT-3's 128 (wider heads use the materialized path). */
export const MAX_FUSED_D_HEAD = 128;

/** What the shuffle kernel needs beyond the limits: the subgroups feature, subgroups at least SHUFFLE_LANES wide. */
export interface SubgroupCaps {
  subgroups: boolean;
  /** The adapter's smallest subgroup (0: not reported). */
  subgroupMinSize: number;
}

export const subgroupCapsOf = (gpu: GpuContext): SubgroupCaps => ({ subgroups: gpu.hasSubgroups, subgroupMinSize: gpu.adapterInfo.subgroupMinSize });

/** Why a tile cannot run a head width on these limits (and subgroup capabilities), or null when it can. */
export function attentionTileProblem(t: AttentionTile, dHead: number, limits: TileLimits, caps?: SubgroupCaps): string | null {
  const threads = t.tx * (t.br / RPT);
  if (dHead > MAX_FUSED_D_HEAD) return `d_head ${dHead} is over the fused kernel's ${MAX_FUSED_D_HEAD}`;
  if (t.kernel === 'shuffle') {
    if (t.br !== SHUFFLE_ROWS || t.bc !== SHUFFLE_KEYS || t.tx !== SHUFFLE_LANES) return `the shuffle kernel's tile is br ${SHUFFLE_ROWS} bc ${SHUFFLE_KEYS} tx ${SHUFFLE_LANES}`;
    if (!caps?.subgroups) return `the shuffle kernel needs the subgroups feature${caps ? ', which this adapter lacks' : ' (adapter capabilities not given)'}`;
    if (caps.subgroupMinSize < SHUFFLE_LANES) return `the shuffle kernel needs subgroups of at least ${SHUFFLE_LANES} invocations; this adapter's smallest is ${caps.subgroupMinSize || 'not reported'}`;
    return null;
  }
  if (!Number.isInteger(t.br / RPT) || t.br <= 0) return `br ${t.br} must be a positive multiple of ${RPT}`;
  if (t.tx < RPT || !Number.isInteger(t.bc / t.tx) || t.bc / t.tx > MAX_SC) return `bc ${t.bc} must be tx (${t.tx} ≥ ${RPT}) times 1..${MAX_SC}`;
  if (columnGroups(t, dHead) > MAX_G) return `d_head ${dHead} needs ${4 * columnGroups(t, dHead)} columns per thread (at most ${4 * MAX_G} with tx ${t.tx})`;
  if (threads > limits.maxComputeInvocationsPerWorkgroup) return `${threads} invocations exceed maxComputeInvocationsPerWorkgroup (${limits.maxComputeInvocationsPerWorkgroup})`;
  if (t.tx > limits.maxComputeWorkgroupSizeX || t.br / RPT > limits.maxComputeWorkgroupSizeY) return 'the workgroup exceeds maxComputeWorkgroupSizeX/Y';
  const bytes = attentionStorageBytes(t, dHead);
  if (bytes > limits.maxComputeWorkgroupStorageSize) return `${bytes} bytes of tiles exceed maxComputeWorkgroupStorageSize (${limits.maxComputeWorkgroupStorageSize})`;
  return null;
}

/** The first tile for this adapter kind that runs `dHead`, or null (use the materialized path). */
export function chooseAttentionTile(dHead: number, limits: TileLimits, software: boolean, caps?: SubgroupCaps): AttentionTile | null {
  const list = software ? SOFTWARE_ATTENTION_TILES : HARDWARE_ATTENTION_TILES;
  return list.find((t) => attentionTileProblem(t, dHead, limits, caps) === null) ?? null;
}

export interface AttentionCall {
  label: string;
  /** q [seq, ldQ]; k and v [kvSeq, ldK]; out [seq, ldO]; head h's columns at off + h·dHead. */
  q: Binding;
  k: Binding;
  v: Binding;
  out: Binding;
  seq: number;
  kvSeq: number;
  heads: number;
  dHead: number;
  ldQ: number;
  ldK: number;
  ldO: number;
  offQ?: number;
  offK?: number;
  offV?: number;
  offO?: number;
  causal: boolean;
  /** Key j is visible to query i when j <= i + causalOffset (self-attention: kvSeq − seq). */
  causalOffset?: number;
  /** Default 1/√dHead. */
  scale?: number;
  tile?: AttentionTile;
  /** Storage of q, k, v and out (default f32); the scores, online softmax and sums are f32 either way. */
  precision?: Precision;
}

export async function prepareAttention(gpu: GpuContext, cache: PipelineCache, call: AttentionCall): Promise<PreparedDispatch> {
  const caps = subgroupCapsOf(gpu);
  const t = call.tile ?? chooseAttentionTile(call.dHead, gpu.limits, gpu.adapterInfo.isSoftware, caps);
  if (!t) throw new InputError(`${call.label}: d_head ${call.dHead} fits no fused attention tile on this adapter (at most ${MAX_FUSED_D_HEAD}, and the tiles must fit its workgroup storage)`);
  const problem = attentionTileProblem(t, call.dHead, gpu.limits, caps);
  if (problem) throw new InputError(`${call.label}: fused attention tile br ${t.br} bc ${t.bc} tx ${t.tx}: ${problem}`);
  const precision = checkPrecision(call.precision, call.label);
  if (precision === 'f16') requireF16(gpu, call.label);
  const width = call.heads * call.dHead;
  checkIndexRange(`${call.label} q`, (call.offQ ?? 0) + (call.seq - 1) * call.ldQ + width);
  checkIndexRange(`${call.label} k`, Math.max(call.offK ?? 0, call.offV ?? 0) + (call.kvSeq - 1) * call.ldK + width);
  checkIndexRange(`${call.label} out`, (call.offO ?? 0) + (call.seq - 1) * call.ldO + width);
  // The shuffle kernel reads k and v rows as vector words where every row starts on a 4-element boundary.
  const v4 = [call.dHead, call.ldK, call.offK ?? 0, call.offV ?? 0].every((x) => x % 4 === 0);
  const pipeline = await cache.get(
    t.kernel === 'shuffle'
      ? { name: 'attention_shuffle', source: withShared(attentionShuffleSource, ATTENTION_PARAMS, KV_WORDS), flags: [...precisionFlags(precision), ...(v4 ? ['v4'] : [])], constants: { DW: Math.ceil(Math.ceil(call.dHead / 4) / SHUFFLE_LANES) } }
      : { name: 'attention', source: withShared(attentionSource, ATTENTION_PARAMS), flags: precisionFlags(precision), constants: { BR: t.br, BC: t.bc, TX: t.tx, G: columnGroups(t, call.dHead) } },
  );
  const grid: [number, number, number] = [Math.ceil(call.seq / t.br), call.heads, 1];
  checkGrid(gpu, call.label, grid);
  const uniform = createUniform(
    gpu,
    [
      { u32: call.seq }, { u32: call.kvSeq }, { u32: call.dHead },
      { u32: call.ldQ }, { u32: call.ldK }, { u32: call.ldO },
      { u32: call.offQ ?? 0 }, { u32: call.offK ?? 0 }, { u32: call.offV ?? 0 }, { u32: call.offO ?? 0 },
      { u32: call.causal ? 1 : 0 }, { u32: call.causalOffset ?? 0 },
      { f32: call.scale ?? 1 / Math.sqrt(call.dHead) },
    ],
    `${call.label} params`,
  );
  const group = bindGroup(gpu, pipeline, call.label, [call.q, call.k, call.v, call.out, uniform]);
  return { label: call.label, pipeline, bindGroup: group, grid, owned: [uniform] };
}

export const attentionTileLabel = (t: AttentionTile): string => `${t.kernel === 'shuffle' ? 'shuffle ' : ''}br${t.br} bc${t.bc} tx${t.tx}`;
