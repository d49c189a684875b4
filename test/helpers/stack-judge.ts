// A whole stack's GPU run judged by the one judge (src/verify/tolerance.ts through verification's exact check,
// src/verify/exact.ts): the run keeps every layer's residual stream, and each layer's output must lie within λ·e of
// its float64 recomputation from the GPU's own input to it (e derived in src/verify/layer-bound.ts). The first
// state must be the input given (a model run's: its embeddings, checked with its logits by src/verify/model-ends.ts)
// and the run's output the last state, so every layer between them is covered.

import { expect } from 'vitest';
import type { AttentionConfig } from '../../src/model/config.js';
import type { Engine, LayerProbe, RunOptions, RunResult } from '../../src/model/engine.js';
import type { Inputs, WeightSource } from '../../src/model/weights.js';
import { seededInputs } from '../../src/model/seeded.js';
import { verifyExactLayers } from '../../src/verify/exact.js';
import { checkModelEnds } from '../../src/verify/model-ends.js';

/**
 * Runs `cfg` keeping every layer's states, then judges them (failure messages name the seed, or `label` for a run
 * whose weights and inputs are given rather than seeded). `reference` gives the weights and inputs the float64 side
 * uses when they are not the run's (the arrays a file was written from).
 */
export async function runJudged(engine: Engine, cfg: AttentionConfig, options: RunOptions & ({ seed: number } | { seed?: undefined; label: string }),
  reference: { weights?: WeightSource; inputs?: Inputs } = {}): Promise<RunResult> {
  const who = options.seed === undefined ? options.label : `seed ${options.seed}`;
  const seedOf = (what: string): number => {
    if (options.seed === undefined) throw new Error(`runJudged ${who}: no seed to make the ${what} from`);
    return options.seed;
  };
  const states: Float32Array[] = [];
  const result = await engine.run(cfg, {
    ...options,
    keepLayerInput: true,
    onLayer: async (progress, probe: LayerProbe) => {
      if (states.length === 0) states.push(await probe.readInput());
      states.push(await probe.readOutput());
      await options.onLayer?.(progress, probe);
    },
  });
  const weights: WeightSource = reference.weights ?? options.weights ?? { kind: 'seeded', seed: seedOf('weights') };
  expect(states, `${who}: one state per layer and the input`).toHaveLength(cfg.layers + 1);
  // A model run's input is its tokens' embeddings, computed on the GPU: judged with its logits at the model's ends.
  const model = options.model;
  if (model) {
    expect(result.embedded, `${who}: a model run returns its embeddings`).not.toBeNull();
    for (const end of checkModelEnds(cfg, model, result)) expect(end.passed, `${who}: ${end.detail}`).toBe(true);
  }
  const inputs: Inputs = model ? { x: result.embedded!, context: null } : reference.inputs ?? options.inputs ?? seededInputs(seedOf('inputs'), cfg);
  expect(states[0], `${who}: the first layer's input is the input given`).toEqual(Float32Array.from(inputs.x));
  expect(result.output, `${who}: the output is the last layer's`).toEqual(states[cfg.layers]);
  const v = await verifyExactLayers(cfg, weights, inputs, states);
  expect(v.passed, `${who}: ${v.detail}`).toBe(true);
  return result;
}
