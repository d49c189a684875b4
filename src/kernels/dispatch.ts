// Prepared dispatches live in src/gpu/dispatch.ts (the timing harness encodes them too); the kernels, the engine, the
// benchmark and the tests import them from here as they always have.
export * from '../gpu/dispatch.js';
