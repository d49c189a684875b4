// One engine per test file on the machine's best adapter (the software one in CI).
// No adapter is a failure with the reason, never a silent skip.

import { afterAll, beforeAll } from 'vitest';
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
