// Public API, shared by the CLI, the benchmarks, the tests and the browser page.
// Nothing here imports Node: pass a GPU object (navigator.gpu, or createNodeGpu() from
// 'webgpu-attention/node') to Engine.create.

export { Engine, planStages } from './model/engine.js';
export type { RunOptions, RunResult, LayerProgress, LayerProbe, StageTimings } from './model/engine.js';
export { GPT3, SMALL, PRESETS, resolveConfig, validateConfig, ConfigError, innerWidth, flagName } from './model/config.js';
export type { AttentionConfig, BlockKind, Activation } from './model/config.js';
export { layerFlops, parameterCount, visiblePairs } from './model/flops.js';
// The adapter's measured rates and the time estimate from them (the page's estimate, the CLI's software refusal).
export { PROBE_CONFIG, measuredRates, knownRates, noteRun, fromRun, nearestSample, estimateSeconds } from './model/rates.js';
export type { RateSample, Rates } from './model/rates.js';
export { planMemory, layerWeightBytes } from './model/plan.js';
export type { MemoryPlan, PlanLimits, PlanOptions } from './model/plan.js';
export type { WeightSource, LayerTensors, ModelTensors, Inputs } from './model/weights.js';
export { seededInputs } from './model/seeded.js';
export { GpuContext, describeAdapter } from './gpu/device.js';
export type { AdapterDescription, DeviceOptions } from './gpu/device.js';
export { GpuError, InputError, OutOfMemoryError, formatBytes } from './gpu/errors.js';
export { verifyExactLayers, checkLayer } from './verify/exact.js';
export type { Verification, LayerExactCheck } from './verify/exact.js';
export { checkModelEnds, checkEmbedding, checkLogits, withModelEnds } from './verify/model-ends.js';
export type { EndCheck } from './verify/model-ends.js';
export * as mlpReference from './reference/mlp.js';
export * as modelReference from './reference/model-ends.js';
export * as reference from './reference/attention.js';
export { parseSafetensorsHeader, getF32, serializeSafetensors, weightName, SafetensorsError } from './io/safetensors.js';
// Hugging Face checkpoints without Node: config.json, the GPT-2/OPT layouts and their re-layout, the tokenizer.
export { parseCheckpointConfig, parseCheckpointConfigText, checkpointParameters, checkpointRunConfig, CheckpointError } from './io/checkpoint-config.js';
export type { CheckpointConfig, CheckpointParameters } from './io/checkpoint-config.js';
export { checkpointLayout, expectedLayout, assembleLayer, layoutNotes } from './io/checkpoint-layout.js';
export type { CheckpointLayout, CheckpointLayerTensors, TensorSpec } from './io/checkpoint-layout.js';
export { loadTokenizer, parseTokenList, checkTokens } from './io/checkpoint-tokenizer.js';
export type { TextTokenizer } from './io/checkpoint-tokenizer.js';
export { autotuneMatmul, TUNE_CANDIDATES } from './tune/matmul.js';
export type { AutotuneOptions, TuneResult } from './tune/matmul.js';
export type { TuneStore } from './tune/store.js';
export { DEFAULT_TILE, defaultMatmulTile, defaultTileFor, describeTile, fitTileToShape } from './kernels/matmul.js';
export type { MatmulTile } from './kernels/matmul.js';
// Inference: a prefill, then one token at a time against the KV cache (README "Prefill and decode").
export { Session, seededStepRow, embedRow, planSession, residentWeights, DEFAULT_RESIDENT_BYTES } from './model/session.js';
export type { SessionOptions, DecodeStep, DecodePlant } from './model/session.js';
export { generate, checkDecodeSteps, summarizeSteps } from './model/generate.js';
export type { GenerateOptions, GenerateResult, DecodeSummary } from './model/generate.js';
export { chooseToken, greedyToken, samplingUniform } from './model/sampling.js';
export type { Sampling } from './model/sampling.js';
export { KvCache, cacheRows, cacheLayerBytes } from './model/kv-cache.js';
export { DecodeChecker, summarizeDecode } from './verify/decode.js';
export type { DecodeLayerCheck, DecodeVerification } from './verify/decode.js';
