// Web Worker: the float64 CPU reference runs here, off the page's thread, so the page keeps
// painting and answering clicks while a multi-second verification runs.

import { seededInputs } from '../src/model/seeded.js';
import { verifyExactLayers } from '../src/verify/exact.js';
import { checkModelEnds, withModelEnds } from '../src/verify/model-ends.js';
import { PageCheckpoint } from './checkpoint-files.js';
import type { VerifyRequest, VerifyResponse } from './verify.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = async (event: MessageEvent<VerifyRequest>) => {
  const { id, cfg, seed, inputs, weights, states, model } = event.data;
  const started = performance.now();
  let reply: VerifyResponse;
  try {
    if (model) {
      // The checkpoint's files again, layer by layer: the same tensors the GPU was given.
      const checkpoint = await PageCheckpoint.open({ label: model.label, files: model.files });
      const source = { kind: 'tensors' as const, layer: (l: number) => checkpoint.layerTensors(l) };
      const { layers: _, ...layers } = await verifyExactLayers(cfg, source, { x: model.embedded, context: null }, states);
      const ends = checkModelEnds(cfg, { tensors: await checkpoint.modelTensors(), tokens: model.tokens }, model);
      scope.postMessage({ id, ok: true, verification: withModelEnds(layers, ends), ms: performance.now() - started } satisfies VerifyResponse);
      return;
    }
    // Seeded inputs are regenerated here rather than copied across: same seed, same values.
    const source = weights ? { kind: 'tensors' as const, layer: (l: number) => weights[l]! } : { kind: 'seeded' as const, seed };
    const { layers: _, ...verification } = await verifyExactLayers(cfg, source, inputs ?? seededInputs(seed, cfg), states);
    reply = { id, ok: true, verification, ms: performance.now() - started };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    reply = { id, ok: false, error: `${err.name}: ${err.message}` };
  }
  scope.postMessage(reply);
};
