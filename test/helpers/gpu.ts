// One engine per test file on the machine's best adapter (the software one in CI).
// No adapter is a failure with the reason, never a silent skip; a test that needs a feature the
// adapter lacks is skipped with the reason (skipWithout), which vitest prints and CI counts.

import { afterAll, beforeAll, type TestContext } from 'vitest';
import { GpuContext } from '../../src/gpu/device.js';
import { PipelineCache } from '../../src/gpu/pipelines.js';
import { dispatchOnce, release, type PreparedDispatch } from '../../src/gpu/dispatch.js';
import { Engine } from '../../src/model/engine.js';
import { createNodeGpu } from '../../src/node/dawn.js';

export function useEngine(): () => Engine {
  let engine: Engine | undefined;
  beforeAll(async () => {
    engine = await Engine.create(createNodeGpu());
  });
  afterAll(() => engine?.destroy());
  return () => {
    if (!engine) throw new Error('the engine was not created (see the beforeAll error)');
    return engine;
  };
}

/** A bare GPU context and its pipeline cache per test file, for the kernel tests. */
export function useGpuContext(): { ctx: () => GpuContext; cache: () => PipelineCache } {
  let gpu: GpuContext | undefined;
  let cache: PipelineCache | undefined;
  beforeAll(async () => {
    gpu = await GpuContext.create(createNodeGpu());
    cache = new PipelineCache(gpu);
  });
  afterAll(() => gpu?.destroy());
  return {
    ctx: () => {
      if (!gpu) throw new Error('no GPU context (see the beforeAll error)');
      return gpu;
    },
    cache: () => cache!,
  };
}

// The seed helpers, here too for the kernel tests that import everything from this file.
export { freshSeed, rng, uniformArray } from './seeds.js';

/** Runs one prepared dispatch (src/gpu/dispatch.ts dispatchOnce) and releases it. */
export async function runDispatch(gpu: GpuContext, d: PreparedDispatch, label: string): Promise<void> {
  try {
    await dispatchOnce(gpu, label, d);
  } finally {
    release([d]);
  }
}

/** The adapter features a test may need and GpuContext reports. */
export type Feature = 'shader-f16' | 'subgroups';

/**
 * Skips the running test where the device lacks `feature`, with the reason vitest reports beside
 * its name (never a silent `return`, which vitest would count as passed). `.ci/run` fails when the
 * CI adapter, which has both features, skips anything (scripts/check-skips.mjs).
 */
export function skipWithout(t: TestContext, gpu: GpuContext, feature: Feature): void {
  const has = feature === 'shader-f16' ? gpu.hasF16 : gpu.hasSubgroups;
  t.skip(!has, `needs ${feature}: ${gpu.adapterInfo.name} has none`);
}

/**
 * The same device seen as one without shader-f16 (only `hasF16` differs), so that the refusals
 * made before any GPU work are tested on every adapter, not only on those that lack the feature.
 */
export function withoutF16(gpu: GpuContext): GpuContext {
  return Object.create(gpu, { hasF16: { value: false } }) as GpuContext;
}
