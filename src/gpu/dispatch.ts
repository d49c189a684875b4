// What every kernel wrapper shares: bindings (a buffer or a window of one), a prepared dispatch
// (pipeline, bind group, grid) that can be encoded many times, and grid folding.

import { submitAndDrain } from './buffers.js';
import type { GpuContext } from './device.js';
import { InputError } from './errors.js';

export interface Binding {
  buffer: GPUBuffer;
  /** Byte offset: a multiple of minStorageBufferOffsetAlignment. */
  offset?: number;
  /** Byte size; the rest of the buffer when absent. */
  size?: number;
}

export interface PreparedDispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number, number];
  /** Uniform buffers made for this dispatch, destroyed with it. */
  owned: GPUBuffer[];
}

export const asBinding = (b: GPUBuffer | Binding): Binding => ('buffer' in b ? b : { buffer: b });

export function bindGroup(gpu: GpuContext, pipeline: GPUComputePipeline, label: string, bindings: (GPUBuffer | Binding)[]): GPUBindGroup {
  return gpu.device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: bindings.map((b, binding) => {
      const { buffer, offset, size } = asBinding(b);
      return { binding, resource: { buffer, offset: offset ?? 0, size: size ?? buffer.size - (offset ?? 0) } };
    }),
  });
}

export function encode(pass: GPUComputePassEncoder, d: PreparedDispatch): void {
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.bindGroup);
  pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
}

/** Runs prepared dispatches once, in order in one compute pass, and waits for the queue (errors thrown, labelled). */
export function dispatchOnce(gpu: GpuContext, label: string, dispatches: PreparedDispatch | readonly PreparedDispatch[]): Promise<void> {
  return submitAndDrain(gpu, label, (encoder) => {
    const pass = encoder.beginComputePass({ label });
    for (const d of Array.isArray(dispatches) ? dispatches : [dispatches]) encode(pass, d as PreparedDispatch);
    pass.end();
  });
}

/**
 * One workgroup of the first dispatch of each distinct pipeline, submitted and drained: a CPU
 * adapter (lavapipe) compiles a pipeline's machine code at its first dispatch, so this puts that
 * compile where the caller times pipeline creation instead of inside its first real work. Every
 * dispatch given must be harmless to run partly (its outputs rewritten before they are read).
 */
export function firstUse(gpu: GpuContext, label: string, dispatches: readonly PreparedDispatch[]): Promise<void> {
  const seen = new Set<GPUComputePipeline>();
  const firsts = dispatches.filter((d) => !seen.has(d.pipeline) && seen.add(d.pipeline));
  return submitAndDrain(gpu, label, (encoder) => {
    const pass = encoder.beginComputePass({ label });
    for (const d of firsts) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(1, 1, 1);
    }
    pass.end();
  });
}

export function release(dispatches: Iterable<PreparedDispatch>): void {
  for (const d of dispatches) for (const u of d.owned) u.destroy();
}

/** A 1D count of workgroups folded into x and y when over maxComputeWorkgroupsPerDimension. */
export function fold1D(groups: number, limit: number): { x: number; y: number } {
  if (groups <= limit) return { x: Math.max(1, groups), y: 1 };
  const y = Math.ceil(groups / limit);
  if (y > limit) throw new InputError(`${groups} workgroups exceed the grid limit of ${limit}² (maxComputeWorkgroupsPerDimension)`);
  return { x: Math.ceil(groups / y), y };
}

export function checkGrid(gpu: GpuContext, label: string, grid: [number, number, number]): void {
  const limit = gpu.limits.maxComputeWorkgroupsPerDimension;
  grid.forEach((g, axis) => {
    if (g > limit) {
      throw new InputError(`${label}: ${g} workgroups along ${'xyz'[axis]} exceed maxComputeWorkgroupsPerDimension (${limit})`);
    }
  });
}

/** Elements addressed as u32 in WGSL: every index must stay below 2³². */
export function checkIndexRange(label: string, elements: number): void {
  if (elements > 0xffffffff) throw new InputError(`${label}: ${elements} elements exceed the u32 index range of the kernels`);
}
