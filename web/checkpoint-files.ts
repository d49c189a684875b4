// A Hugging Face checkpoint opened in the page from File objects (a folder picked with
// <input webkitdirectory>, or config.json, the shards or model.safetensors and tokenizer.json
// dropped or picked together): the same steps and one-line refusals as the CLI's
// src/node/checkpoint.ts, through the same pure modules (config.json, the index, the layout and
// its re-layout, the strict safetensors reader, the tokenizer). Only each file's header is read
// to open it; tensors are read with File.slice one at a time, layer by layer (the next layer while
// the GPU runs the current one), so a 500 MB checkpoint is never held whole. No DOM: the
// verification worker opens the same files again to read the weights it checks.

import { CheckpointError, parseCheckpointConfigText, type CheckpointConfig } from '../src/io/checkpoint-config.js';
import { CONFIG_FILE, INDEX_FILE, MAX_JSON_BYTES, SINGLE_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, mapIndexShards, parseIndex } from '../src/io/checkpoint-index.js';
import { assembleLayer, checkpointLayout, layoutDtypes, layoutNotes, type CheckpointLayerTensors, type CheckpointLayout, type LayerNames } from '../src/io/checkpoint-layout.js';
import { loadTokenizer, type TextTokenizer } from '../src/io/checkpoint-tokenizer.js';
import { escapeUntrusted } from '../src/io/escape.js';
import { fileLabel, parseSafetensorsHeader, SafetensorsError, type ParsedSafetensors } from '../src/io/safetensors.js';
import { headerEnd, LazySafetensors } from '../src/io/safetensors-lazy.js';
import type { ModelTensors } from '../src/model/weights.js';

/** The files of one checkpoint as the page got them: the folder's own files (not its subfolders'), by name. */
export interface CheckpointFiles {
  /** The folder's name, or a description of a drop ("3 dropped files"): raw, escaped where shown. */
  label: string;
  files: File[];
}

/** A folder's name quoted for messages, as the CLI's showPath quotes a path. */
export const showFolder = (label: string): string => `"${escapeUntrusted(label, 160, 'end')}"`;

async function bytesOf(file: File, begin: number, end: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await file.slice(begin, end).arrayBuffer());
  if (bytes.length !== end - begin) {
    throw new SafetensorsError(`${fileLabel(file.name)}: file ended at byte ${begin + bytes.length}, expected ${end}`, 'truncated');
  }
  return bytes;
}

/** One safetensors File: its header parsed and checked by the strict reader; tensors read by File.slice (LazySafetensors). */
export class SafetensorsBlob extends LazySafetensors {
  private constructor(readonly file: File, what: string, parsed: ParsedSafetensors) {
    super(parsed, what);
  }

  static async open(file: File, what: string): Promise<SafetensorsBlob> {
    const end = headerEnd(await bytesOf(file, 0, Math.min(8, file.size)), what, file.size);
    return new SafetensorsBlob(file, what, parseSafetensorsHeader(await bytesOf(file, 0, end), what, file.size));
  }

  /**
   * Checks one tensor for NaN and ±Inf without holding it whole: read and decoded SCAN_CHUNK_BYTES
   * at a time. Throws the same one-line error as read() (the tensor and the first index), as the CLI's scan does.
   */
  async scanFinite(name: string): Promise<void> {
    const info = this.floatTensor(name);
    for (const [at, end] of this.scanChunks(info)) this.checkChunk(name, info, at, await bytesOf(this.file, at, end));
  }

  /** One tensor's values (F16/BF16 widened exactly), checked finite. */
  async read(name: string): Promise<Float32Array> {
    const info = this.floatTensor(name);
    return this.values(name, info, await bytesOf(this.file, info.begin, info.end));
  }
}

async function readText(file: File, what: string): Promise<string> {
  if (file.size > MAX_JSON_BYTES) throw new CheckpointError(`${escapeUntrusted(what, 100, 'end')}: ${file.size} bytes, over the ${MAX_JSON_BYTES} read for a JSON file`);
  return new TextDecoder('utf-8', { fatal: false }).decode(await file.arrayBuffer());
}

/** Every tensor name layer l's re-layout reads. */
function layerTensorNames(names: LayerNames): string[] {
  const out: string[] = [];
  for (const v of Object.values(names)) {
    if (typeof v === 'string') out.push(v);
    else if (v) out.push(v.weight, v.bias);
  }
  return out;
}

export class PageCheckpoint {
  private modelTables: Promise<ModelTensors> | null = null;
  private scanned: Promise<void> | null = null;

  private constructor(
    readonly source: CheckpointFiles,
    readonly config: CheckpointConfig,
    readonly layout: CheckpointLayout,
    /** The safetensors files, in the order opened (one, or the shards). */
    readonly files: SafetensorsBlob[],
    private readonly where: Map<string, SafetensorsBlob>,
    readonly tokenizerText: string | null,
    readonly tokenizerConfigText: string | null,
    /** Lines for the page: ignored buffers and tensors, a tied unembedding, an unused index. */
    readonly notes: string[],
  ) {}

  /**
   * Opens the files as the CLI opens a folder: config.json, then model.safetensors (preferred, as
   * Hugging Face does) or the index and every shard it names; checks every tensor the model needs
   * (present, F32/F16/BF16, the shape config.json gives). Throws the CLI's one-line
   * CheckpointError / SafetensorsError, the folder named instead of --model.
   */
  static async open(source: CheckpointFiles): Promise<PageCheckpoint> {
    const folder = showFolder(source.label);
    const byName = new Map<string, File>();
    for (const f of source.files) {
      if (byName.has(f.name)) throw new CheckpointError(`${folder}: two files named '${escapeUntrusted(f.name, 80)}': give one checkpoint's files`);
      byName.set(f.name, f);
    }
    const path = (name: string) => `${source.label}/${name}`;
    const configFile = byName.get(CONFIG_FILE);
    if (!configFile) throw new CheckpointError(`${folder} has no ${CONFIG_FILE}: a Hugging Face checkpoint folder has config.json beside its weights`);
    const config = parseCheckpointConfigText(await readText(configFile, path(CONFIG_FILE)), path(CONFIG_FILE));
    const single = byName.get(SINGLE_FILE);
    const index = byName.get(INDEX_FILE);
    const notes: string[] = [];
    const files: SafetensorsBlob[] = [];
    const where = new Map<string, SafetensorsBlob>();
    if (single) {
      const file = await SafetensorsBlob.open(single, path(SINGLE_FILE));
      files.push(file);
      for (const name of file.parsed.tensors.keys()) where.set(name, file);
      if (index) notes.push(`${folder}: ${SINGLE_FILE} is read; ${INDEX_FILE} beside it is not (as Hugging Face does)`);
    } else if (index) {
      const indexPath = path(INDEX_FILE);
      const map = parseIndex(await readText(index, indexPath), indexPath);
      const shards = mapIndexShards<SafetensorsBlob>(map, indexPath, folder);
      let step = shards.next(null);
      while (!step.done) {
        const blob = byName.get(step.value);
        const file = blob ? await SafetensorsBlob.open(blob, path(step.value)) : null;
        if (file) files.push(file);
        step = shards.next(file);
      }
      for (const [name, file] of step.value.where) where.set(name, file);
      notes.push(...step.value.notes);
    } else {
      const bin = byName.has('pytorch_model.bin');
      throw new CheckpointError(`${folder} has no ${SINGLE_FILE} or ${INDEX_FILE}${bin ? ' (only pytorch_model.bin, a pickle, which is not read: save the model as safetensors)' : ''}`);
    }
    const layout = checkpointLayout(where.keys(), config, (name) => where.get(name)?.shape(name), source.label);
    for (const s of layout.specs) where.get(s.name)!.check(s.name, s.shape); // dtype F32, F16 or BF16
    notes.push(...layoutNotes(layout, source.label));
    const tokenizer = byName.get(TOKENIZER_FILE);
    const tokenizerConfig = tokenizer ? byName.get(TOKENIZER_CONFIG_FILE) : undefined;
    return new PageCheckpoint(source, config, layout, files, where,
      tokenizer ? await readText(tokenizer, path(TOKENIZER_FILE)) : null,
      tokenizerConfig ? await readText(tokenizerConfig, path(TOKENIZER_CONFIG_FILE)) : null, notes);
  }

  /** The folder's name for messages, quoted and escaped. */
  get folder(): string {
    return showFolder(this.source.label);
  }

  /** Bytes of the safetensors files. */
  get bytes(): number {
    return this.files.reduce((n, f) => n + f.file.size, 0);
  }

  read(name: string): Promise<Float32Array> {
    const file = this.where.get(name);
    if (!file) throw new CheckpointError(`${this.folder}: no tensor '${escapeUntrusted(name, 64)}'`);
    return file.read(name);
  }

  /**
   * Every tensor the model reads, scanned for NaN and ±Inf before any GPU work, as the CLI scans a
   * checkpoint (a poisoned last layer is refused before layer 0 runs). Once per checkpoint: the
   * files cannot change under a File object (a changed file fails to read).
   */
  scanFinite(): Promise<void> {
    this.scanned ??= (async () => {
      for (const s of this.layout.specs) await this.where.get(s.name)!.scanFinite(s.name);
    })();
    this.scanned.catch(() => undefined);
    return this.scanned;
  }

  /** The dtypes of the tensors the model reads, with their counts: "F16 (41)". */
  dtypes(): string {
    return layoutDtypes(this.layout, (name) => this.where.get(name)!.parsed.tensors.get(name)!.dtype);
  }

  /** Layer l's tensors, read and re-laid out into the engine's form (assembleLayer, as the CLI). */
  async layerTensors(l: number): Promise<CheckpointLayerTensors> {
    const names = layerTensorNames(this.layout.layer(l));
    const values = new Map<string, Float32Array>();
    for (const name of names) values.set(name, await this.read(name));
    return assembleLayer(this.layout, this.config, l, (name) => values.get(name)!);
  }

  /** The tensors outside the layers (read once, then kept: the next run and the check reuse them). */
  modelTensors(): Promise<ModelTensors> {
    this.modelTables ??= (async () => {
      const tokenEmbedding = await this.read(this.layout.tokenEmbedding);
      return {
        vocab: this.config.vocab,
        tokenEmbedding,
        positionEmbedding: await this.read(this.layout.positionEmbedding),
        positionOffset: this.config.positionOffset,
        finalGain: await this.read(this.layout.finalGain),
        finalBias: await this.read(this.layout.finalBias),
        unembedding: this.layout.unembedding ? await this.read(this.layout.unembedding) : tokenEmbedding,
      };
    })();
    this.modelTables.catch(() => (this.modelTables = null));
    return this.modelTables;
  }

  /** A weight source for the engine: layer l when asked for, layer l+1 read while the GPU runs layer l (at most two held). */
  weightSource(layers = this.config.layers): { kind: 'tensors'; layer: (l: number) => Promise<CheckpointLayerTensors> } {
    let next: { layer: number; data: Promise<CheckpointLayerTensors> } | null = null;
    return {
      kind: 'tensors',
      layer: async (l) => {
        const data = next && next.layer === l ? await next.data : await this.layerTensors(l);
        next = l + 1 < layers ? { layer: l + 1, data: this.layerTensors(l + 1) } : null;
        next?.data.catch(() => undefined); // reported when that layer is asked for
        return data;
      },
    };
  }

  /** The checkpoint's tokenizer, or null without tokenizer.json. */
  tokenizer(): TextTokenizer | null {
    return this.tokenizerText === null ? null : loadTokenizer(this.tokenizerText, this.tokenizerConfigText, `${this.source.label}/${TOKENIZER_FILE}`);
  }
}

/** A folder picked with <input webkitdirectory>: its own files (webkitRelativePath "folder/name"), not its subfolders'. */
export function pickedFolder(list: FileList | File[]): CheckpointFiles {
  const all = [...list];
  const top = all.filter((f) => f.webkitRelativePath.split('/').length === 2);
  const label = all[0]?.webkitRelativePath.split('/')[0] || 'the picked folder';
  return { label, files: top.length ? top : all.filter((f) => !f.webkitRelativePath) };
}

/** Files dropped or picked together (no folder): labelled by their count. */
export function droppedFiles(list: FileList | File[], how: 'dropped' | 'picked' = 'dropped'): CheckpointFiles {
  const files = [...list];
  return { label: `${files.length} ${how} file${files.length === 1 ? '' : 's'}`, files };
}
