// Host side of shaders/embed.wgsl: x = tokenEmbedding[tokens] + positionEmbedding[pos + offset],
// the token table bound in row chunks (one dispatch each) where it exceeds a storage binding.

import embedSource from '../../shaders/embed.wgsl';
import { createUniform } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { bindGroup, checkIndexRange, fold1D, type PreparedDispatch } from '../gpu/dispatch.js';
import { bytesPer, checkPrecision, precisionFlags, requireF16, type Precision } from '../gpu/precision.js';

const WG = 256;

export interface EmbedCall {
  label: string;
  /** Token ids [seq] (u32). */
  tokens: GPUBuffer;
  /** Token table [vocab, dModel] and position table [positionRows, dModel], stored as `precision`. */
  table: GPUBuffer;
  positions: GPUBuffer;
  /** Residual stream x [seq, dModel] (f32), written whole. */
  x: GPUBuffer;
  seq: number;
  dModel: number;
  vocab: number;
  positionRows: number;
  /** Row of position 0 in the position table (GPT-2 0, OPT 2). */
  positionOffset: number;
  /** Token-table rows per binding (a multiple of what keeps chunk offsets aligned); default all. */
  chunkRows?: number;
  precision?: Precision;
}

/** One dispatch per chunk of the token table; each writes the elements of x whose token lies in its rows. */
export async function prepareEmbed(gpu: GpuContext, cache: PipelineCache, call: EmbedCall): Promise<PreparedDispatch[]> {
  const { label, seq, dModel, vocab, positionRows, positionOffset } = call;
  const precision = checkPrecision(call.precision, label);
  if (precision === 'f16') requireF16(gpu, label);
  if (seq + positionOffset > positionRows) {
    throw new InputError(`${label}: ${seq} tokens from position row ${positionOffset} need ${seq + positionOffset} position rows, the table has ${positionRows}`);
  }
  const F = bytesPer(precision);
  const rowBytes = dModel * F;
  checkIndexRange(label, seq * dModel);
  const chunkRows = Math.min(vocab, call.chunkRows ?? vocab);
  // The position rows the sequence reads, from an aligned row at or before its first.
  const align = gpu.limits.minStorageBufferOffsetAlignment;
  const firstByte = positionOffset * rowBytes;
  const posOffset = Math.floor(firstByte / align) * align;
  const posBase = (firstByte - posOffset) / F;
  const posSize = Math.ceil((firstByte + seq * rowBytes - posOffset) / 4) * 4;
  const pipeline = await cache.get({ name: 'embed', source: embedSource, flags: precisionFlags(precision), constants: { WG } });
  const { x: gx, y: gy } = fold1D(Math.ceil((seq * dModel) / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
  const dispatches: PreparedDispatch[] = [];
  for (let r0 = 0; r0 < vocab; r0 += chunkRows) {
    const rows = Math.min(chunkRows, vocab - r0);
    const chunkLabel = vocab > chunkRows ? `${label} rows ${r0}..${r0 + rows}` : label;
    const uniform = createUniform(gpu, [{ u32: seq }, { u32: dModel }, { u32: r0 }, { u32: rows }, { u32: posBase }, { u32: gx }], `${chunkLabel} params`);
    const group = bindGroup(gpu, pipeline, chunkLabel, [
      { buffer: call.tokens, size: seq * 4 },
      { buffer: call.table, offset: r0 * rowBytes, size: Math.ceil((rows * rowBytes) / 4) * 4 },
      { buffer: call.positions, offset: posOffset, size: posSize },
      { buffer: call.x, size: seq * dModel * 4 },
      uniform,
    ]);
    dispatches.push({ label: chunkLabel, pipeline, bindGroup: group, grid: [gx, gy, 1], owned: [uniform] });
  }
  return dispatches;
}
