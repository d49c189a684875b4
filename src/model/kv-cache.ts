// The KV cache of a decode session: per layer, K and V as [heads, rows, dHead] on the GPU (head h's
// row j at (h·rows + j)·dHead), stored in the run's precision. The prefill writes its k and v
// [seq, heads·dHead] into rows 0 … seq − 1 (one copy per head and row, encoded into the layer's own
// command buffer, so nothing is read back); each decode step appends its one new row (one copy per
// head). Self-attention: rows = maxSeq, the cache grows by one row a step. Cross-attention: rows =
// kvSeq, the context's K and V, written once by the prefill and never appended.
//
// Copies need 4-byte offsets and sizes: a row of one head is dHead·bytes, so f16 needs an even
// dHead (refused in numbers before any GPU work by cacheProblem). Every row is poisoned with NaN
// at creation: a row the decode attention reads before it was written shows up as NaN.

import type { AttentionConfig } from './config.js';
import { innerWidth } from './config.js';
import { createStorage, poison } from '../gpu/buffers.js';
import type { GpuContext } from '../gpu/device.js';
import { formatBytes } from '../gpu/errors.js';
import { bytesPer } from '../gpu/precision.js';

/** Rows the cache holds: the model's context (self-attention) or the cross-attention context. */
export const cacheRows = (cfg: AttentionConfig): number => (cfg.cross ? cfg.kvSeq : cfg.maxSeq);

/** Bytes of one layer's K (or V) cache. */
export const cacheLayerBytes = (cfg: AttentionConfig): number => cfg.heads * cacheRows(cfg) * cfg.dHead * bytesPer(cfg.precision);

/** Why this configuration's cache rows cannot be copied (f16 with an odd dHead), or null. */
export function cacheRowProblem(cfg: AttentionConfig): string | null {
  if ((cfg.dHead * bytesPer(cfg.precision)) % 4 === 0) return null;
  return `decoding with --precision f16 needs an even --d-head (a cache row of one head is copied in 4-byte words), got ${cfg.dHead}`;
}

/** Why one layer's cache does not fit a buffer here, or null. */
export function cacheSizeProblem(cfg: AttentionConfig, maxBufferSize: number): string | null {
  const bytes = cacheLayerBytes(cfg);
  if (bytes > maxBufferSize) {
    return `one layer's K cache [${cfg.heads} heads, ${cacheRows(cfg)} rows, ${cfg.dHead}] needs ${formatBytes(bytes)}, over the adapter's maxBufferSize of ${formatBytes(maxBufferSize)}`;
  }
  return null;
}

export class KvCache {
  readonly rows: number;
  readonly k: GPUBuffer[] = [];
  readonly v: GPUBuffer[] = [];
  private readonly rowBytes: number;
  private readonly headBytes: number;

  constructor(private readonly gpu: GpuContext, private readonly cfg: AttentionConfig) {
    this.rows = cacheRows(cfg);
    const p = cfg.precision;
    this.rowBytes = cfg.dHead * bytesPer(p);
    this.headBytes = this.rows * this.rowBytes;
    const elements = cfg.heads * this.rows * cfg.dHead;
    try {
      for (let l = 0; l < cfg.layers; l++) {
        this.k.push(createStorage(gpu, elements, `K cache layer ${l}`, p));
        this.v.push(createStorage(gpu, elements, `V cache layer ${l}`, p));
        poison(gpu, this.k[l]!, undefined, p);
        poison(gpu, this.v[l]!, undefined, p);
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  get bytes(): number {
    return [...this.k, ...this.v].reduce((s, b) => s + b.size, 0);
  }

  /**
   * Rows [0, count) of k and v [count, heads·dHead] (the prefill's projections) into the cache of
   * `layer`. One copy per head and row.
   */
  encodeFill(encoder: GPUCommandEncoder, layer: number, k: GPUBuffer, v: GPUBuffer, count: number): void {
    for (let j = 0; j < count; j++) this.encodeRow(encoder, layer, k, v, j * innerWidth(this.cfg) * bytesPer(this.cfg.precision), j);
  }

  /** One row of k and v [heads·dHead] (starting at byte `srcOffset`) into cache row `row` of `layer`. */
  encodeRow(encoder: GPUCommandEncoder, layer: number, k: GPUBuffer, v: GPUBuffer, srcOffset: number, row: number): void {
    for (let h = 0; h < this.cfg.heads; h++) {
      const at = h * this.headBytes + row * this.rowBytes;
      encoder.copyBufferToBuffer(k, srcOffset + h * this.rowBytes, this.k[layer]!, at, this.rowBytes);
      encoder.copyBufferToBuffer(v, srcOffset + h * this.rowBytes, this.v[layer]!, at, this.rowBytes);
    }
  }

  destroy(): void {
    for (const b of [...this.k, ...this.v]) b.destroy();
    this.k.length = 0;
    this.v.length = 0;
  }
}
