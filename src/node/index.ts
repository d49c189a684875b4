// Node entry: the engine plus what only Node has (Dawn, files).
export * from '../index.js';
export { createNodeGpu, heldNodeGpus } from './dawn.js';
export { checkInputPath, checkOutputPath, openInputFile, showPath, fileKind, PathError, type CheckedInput } from './paths.js';
export { writeFileAtomic, AtomicWriteError, temporaryName, isTemporaryFor, type AtomicWriteOptions, type AtomicWriteFs } from './atomic-write.js';
export { fileTuneStore, defaultTuneFile, defaultTuneDir, defaultTuneStore } from './tune-store.js';
export { Checkpoint, readCheckpointConfig, checkModelDir, parseIndex, type CheckpointModelTensors } from './checkpoint.js';
