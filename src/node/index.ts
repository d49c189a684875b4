// Node entry: the engine plus what only Node has (Dawn, files).
export * from '../index.js';
export { createNodeGpu } from './dawn.js';
export { fileTuneStore, defaultTuneFile, defaultTuneDir, defaultTuneStore } from './tune-store.js';
