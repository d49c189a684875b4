// GPU time per compute pass from timestamp queries, read back once per batch of passes.
// Without the timestamp-query feature every pass reports null and callers fall back to the
// wall clock around a drained queue (labelled as such).

import { MAP_READ, Usage } from './usage.js';
import type { GpuContext } from './device.js';

export class PassTimer {
  private readonly querySet: GPUQuerySet | null;
  private readonly resolveBuffer: GPUBuffer | null;
  private readonly capacity: number;
  private labels: string[] = [];

  constructor(
    private readonly gpu: GpuContext,
    maxPasses = 512,
  ) {
    this.capacity = Math.min(maxPasses, 2048);
    if (gpu.hasTimestamps) {
      this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: this.capacity * 2, label: 'pass timer' });
      this.resolveBuffer = gpu.device.createBuffer({
        size: this.capacity * 16,
        usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC,
        label: 'pass timer resolve',
      });
    } else {
      this.querySet = null;
      this.resolveBuffer = null;
    }
  }

  get enabled(): boolean {
    return this.querySet !== null;
  }

  /** Begins a compute pass, timed when the feature exists and there is room left. */
  beginPass(encoder: GPUCommandEncoder, label: string): GPUComputePassEncoder {
    if (!this.querySet || this.labels.length >= this.capacity) return encoder.beginComputePass({ label });
    const index = this.labels.length;
    this.labels.push(label);
    return encoder.beginComputePass({
      label,
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 },
    });
  }

  /**
   * Resolves the passes begun since the last read into `encoder` and, after the caller submits,
   * `read()` returns each pass's label and milliseconds.
   */
  resolve(encoder: GPUCommandEncoder): (() => Promise<{ label: string; ms: number }[]>) | null {
    if (!this.querySet || !this.resolveBuffer || this.labels.length === 0) return null;
    const labels = this.labels;
    this.labels = [];
    const bytes = labels.length * 16;
    const staging = this.gpu.device.createBuffer({ size: bytes, usage: Usage.COPY_DST | Usage.MAP_READ, label: 'timestamps' });
    encoder.resolveQuerySet(this.querySet, 0, labels.length * 2, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, bytes);
    return async () => {
      await staging.mapAsync(MAP_READ);
      const ticks = new BigUint64Array(staging.getMappedRange());
      const result = labels.map((label, i) => {
        const delta = Number(ticks[2 * i + 1]! - ticks[2 * i]!);
        // Some drivers report end < begin across power-state changes: such a pass counts 0.
        return { label, ms: delta > 0 ? delta / 1e6 : 0 };
      });
      staging.destroy();
      return result;
    };
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}
