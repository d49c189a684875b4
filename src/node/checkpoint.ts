// A Hugging Face checkpoint folder on disk: config.json, one model.safetensors or shards named by
// model.safetensors.index.json, and tokenizer.json when it has one. Every header is read and
// every tensor the run needs is checked (name, dtype, shape against config.json) before any GPU
// work; the weights are then read one tensor at a time, layer by layer (the next layer while the
// GPU runs the current one), as --weights files are (safetensors-file.ts): no file is loaded whole.
// Names from the files are escaped in every message (escape.ts, via the pure modules in src/io).

import { closeSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, parseCheckpointConfigText, type CheckpointConfig } from '../io/checkpoint-config.js';
import { assembleLayer, checkpointLayout, layoutDtypes, layoutNotes, type CheckpointLayerTensors, type CheckpointLayout } from '../io/checkpoint-layout.js';
import { CONFIG_FILE, INDEX_FILE, MAX_JSON_BYTES, SINGLE_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, mapIndexShards, parseIndex } from '../io/checkpoint-index.js';
import { loadTokenizer, type TextTokenizer } from '../io/checkpoint-tokenizer.js';
import { escapeUntrusted } from '../io/escape.js';
import { checkInputPath, openInputFile, PathError, showPath } from './paths.js';
import { SafetensorsFile } from './safetensors-file.js';
import type { ModelTensors } from '../model/weights.js';

export { CONFIG_FILE, INDEX_FILE, SINGLE_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, parseIndex } from '../io/checkpoint-index.js';

/** The tensors outside the layers, in the engine's form (RunOptions.model.tensors). */
export type CheckpointModelTensors = ModelTensors;

/** Checks that `dir` is a folder (not empty, exists, not a file); returns it. */
export function checkModelDir(flag: string, dir: string): string {
  if (typeof dir !== 'string' || dir === '') throw new PathError(`${flag} is empty: is a shell variable unset?`, flag, String(dir ?? ''));
  if (dir.includes('\0')) throw new PathError(`${flag} ${showPath(dir)}: a path cannot contain a NUL character`, flag, dir);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PathError(`${flag} ${showPath(dir)}: ${code === 'ENOENT' ? 'no such folder' : code === 'EACCES' ? 'permission denied' : code ?? 'cannot be read'}`, flag, dir);
  }
  if (!isDir) throw new PathError(`${flag} ${showPath(dir)} is not a folder: give the checkpoint's folder (config.json, model.safetensors, tokenizer.json)`, flag, dir);
  return dir;
}

/** A file inside the checkpoint folder, or null when it is not there. Other failures (a FIFO, no permission) are refused. */
function fileIn(flag: string, dir: string, name: string): string | null {
  const path = join(dir, name);
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
  }
  return checkInputPath(flag, path).path;
}

/** A JSON or text file read whole (regular file, never blocking, at most MAX_JSON_BYTES). */
function readText(flag: string, path: string): string {
  const { fd, size } = openInputFile(flag, path);
  try {
    if (size > MAX_JSON_BYTES) throw new CheckpointError(`${flag} ${showPath(path)}: ${size} bytes, over the ${MAX_JSON_BYTES} read for a JSON file`);
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, done));
  } finally {
    closeSync(fd);
  }
}

/** config.json alone (params, info): no weights read. */
export function readCheckpointConfig(dir: string, flag = '--model'): { config: CheckpointConfig; path: string } {
  checkModelDir(flag, dir);
  const path = fileIn(flag, dir, CONFIG_FILE);
  if (!path) throw new CheckpointError(`${flag} ${showPath(dir)} has no ${CONFIG_FILE}: a Hugging Face checkpoint folder has config.json beside its weights`);
  return { config: parseCheckpointConfigText(readText(flag, path), path), path };
}

export class Checkpoint {
  private constructor(
    readonly dir: string,
    readonly config: CheckpointConfig,
    readonly layout: CheckpointLayout,
    /** The safetensors files, in the order opened (one, or the shards). */
    readonly files: SafetensorsFile[],
    private readonly where: Map<string, SafetensorsFile>,
    /** tokenizer.json's text, or null when the folder has none. */
    readonly tokenizerText: string | null,
    readonly tokenizerConfigText: string | null,
    /** Lines for the run's log: ignored buffers and tensors, tied unembedding, an unused index. */
    readonly notes: string[],
  ) {}

  /**
   * Opens the folder: config.json, then model.safetensors (preferred, as Hugging Face does) or the
   * index and every shard it names; checks every tensor the model needs (present, F32/F16/BF16,
   * the shape config.json gives). Throws a one-line CheckpointError / SafetensorsError / PathError.
   */
  static open(dir: string, flag = '--model'): Checkpoint {
    const { config } = readCheckpointConfig(dir, flag);
    const single = fileIn(flag, dir, SINGLE_FILE);
    const indexPath = fileIn(flag, dir, INDEX_FILE);
    const notes: string[] = [];
    const files: SafetensorsFile[] = [];
    const where = new Map<string, SafetensorsFile>();
    const folder = showPath(dir);
    try {
      if (single) {
        const file = new SafetensorsFile(single, flag);
        files.push(file);
        for (const name of file.parsed.tensors.keys()) where.set(name, file);
        if (indexPath) notes.push(`${folder}: ${SINGLE_FILE} is read; ${INDEX_FILE} beside it is not (as Hugging Face does)`);
      } else if (indexPath) {
        const map = parseIndex(readText(flag, indexPath), indexPath);
        const shards = mapIndexShards<SafetensorsFile>(map, indexPath, folder);
        let step = shards.next(null);
        while (!step.done) {
          const path = fileIn(flag, dir, step.value);
          const file = path ? new SafetensorsFile(path, flag) : null;
          if (file) files.push(file);
          step = shards.next(file);
        }
        for (const [name, file] of step.value.where) where.set(name, file);
        notes.push(...step.value.notes);
      } else {
        const bin = fileIn(flag, dir, 'pytorch_model.bin');
        throw new CheckpointError(`${flag} ${folder} has no ${SINGLE_FILE} or ${INDEX_FILE}${bin ? ' (only pytorch_model.bin, a pickle, which is not read: save the model as safetensors)' : ''}`);
      }
      const layout = checkpointLayout(where.keys(), config, (name) => where.get(name)?.shape(name), dir);
      for (const s of layout.specs) where.get(s.name)!.check(s.name, s.shape); // dtype F32, F16 or BF16
      notes.push(...layoutNotes(layout, dir));
      const tokenizerPath = fileIn(flag, dir, TOKENIZER_FILE);
      const tokenizerConfigPath = tokenizerPath ? fileIn(flag, dir, TOKENIZER_CONFIG_FILE) : null;
      return new Checkpoint(dir, config, layout, files, where,
        tokenizerPath ? readText(flag, tokenizerPath) : null, tokenizerConfigPath ? readText(flag, tokenizerConfigPath) : null, notes);
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
  }

  /** One tensor's values (F16/BF16 widened exactly), checked finite. */
  read(name: string): Float32Array {
    const file = this.where.get(name);
    if (!file) throw new CheckpointError(`${showPath(this.dir)}: no tensor '${escapeUntrusted(name, 64)}'`);
    return file.read(name);
  }

  /**
   * Every tensor a run of the first `layers` layers reads, scanned for NaN and ±Inf in chunks before
   * any GPU work (as --weights files are), so a poisoned later layer is refused before layer 0 runs.
   * Reads those bytes once more than the run does.
   */
  scanFinite(layers = this.config.layers): void {
    const inLayer = /(?:^|\.)(?:h|layers)\.(0|[1-9][0-9]*)\./;
    for (const s of this.layout.specs) {
      const m = inLayer.exec(s.name);
      if (m && Number(m[1]) >= layers) continue;
      this.where.get(s.name)!.scanFinite(s.name);
    }
  }

  /** The folder's files a run reads: the safetensors files, config.json, the index and the tokenizer's files that exist. */
  inputPaths(): string[] {
    const extra = [CONFIG_FILE, INDEX_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE].map((n) => join(this.dir, n));
    return [...this.files.map((f) => f.path), ...extra];
  }

  /** The dtypes of the tensors the model reads, with their counts: "F16 (41)". */
  dtypes(): string {
    return layoutDtypes(this.layout, (name) => this.where.get(name)!.parsed.tensors.get(name)!.dtype);
  }

  layerTensors(l: number): CheckpointLayerTensors {
    return assembleLayer(this.layout, this.config, l, (name) => this.read(name));
  }

  modelTensors(): CheckpointModelTensors {
    const tokenEmbedding = this.read(this.layout.tokenEmbedding);
    return {
      vocab: this.config.vocab,
      tokenEmbedding,
      positionEmbedding: this.read(this.layout.positionEmbedding),
      positionOffset: this.config.positionOffset,
      finalGain: this.read(this.layout.finalGain),
      finalBias: this.read(this.layout.finalBias),
      unembedding: this.layout.unembedding ? this.read(this.layout.unembedding) : tokenEmbedding,
    };
  }

  /**
   * A weight source for the engine: layer l read and re-laid out when asked for, layer l+1 read
   * after a macrotask boundary while the GPU runs layer l (at most two layers held).
   */
  weightSource(layers = this.config.layers): { kind: 'tensors'; layer: (l: number) => Promise<CheckpointLayerTensors> } {
    let next: { layer: number; data: Promise<CheckpointLayerTensors> } | null = null;
    const prefetch = (l: number) => new Promise<CheckpointLayerTensors>((resolve, reject) => setImmediate(() => {
      try { resolve(this.layerTensors(l)); } catch (e) { reject(e); }
    }));
    return {
      kind: 'tensors',
      layer: async (l) => {
        const data = next && next.layer === l ? await next.data : this.layerTensors(l);
        next = l + 1 < layers ? { layer: l + 1, data: prefetch(l + 1) } : null;
        next?.data.catch(() => undefined); // reported when that layer is asked for
        return data;
      },
    };
  }

  /** The checkpoint's tokenizer, or null when the folder has no tokenizer.json. */
  tokenizer(): TextTokenizer | null {
    return this.tokenizerText === null ? null : loadTokenizer(this.tokenizerText, this.tokenizerConfigText, join(this.dir, TOKENIZER_FILE));
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}
