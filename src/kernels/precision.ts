// Storage precision lives in src/gpu/precision.ts (buffers need it too); the kernels, the engine, the benchmark and
// the tests import it from here as they always have.
export * from '../gpu/precision.js';
