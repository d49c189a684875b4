// safetensors files on disk, read without loading them whole: the header first (every tensor's
// name, dtype and shape is checked before any GPU work), then one tensor's byte range at a time.
// Weights stream layer by layer; the next layer is read while the GPU runs the current one.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.js';
import { openInputFile } from './paths.js';
import { innerWidth, type AttentionConfig } from '../model/config.js';
import type { Inputs, LayerTensors, WeightSource } from '../model/weights.js';
import {
  fileLabel, layerNormName, parseSafetensorsHeader, quoteName, serializeSafetensors, weightName, SafetensorsError, type ParsedSafetensors,
} from '../io/safetensors.js';
import { headerEnd, LazySafetensors } from '../io/safetensors-lazy.js';
import { ignoredTensorsNote, layerSet, layersUsedNote } from '../io/layer-set.js';

/** A file on disk: the header read and checked at open, tensors read synchronously by byte range (LazySafetensors). */
export class SafetensorsFile extends LazySafetensors {
  private fd: number;

  /** `flag` names the argument in errors ('--weights', '--input'). */
  constructor(path: string, flag = 'file') {
    // Non-blocking open and a check on the open descriptor: a FIFO put in place after the
    // path check cannot hang the run.
    const fd = openInputFile(flag, path).fd;
    let parsed: ParsedSafetensors;
    try {
      const size = fstatSync(fd).size;
      parsed = parseSafetensorsHeader(readBytes(fd, path, 0, headerEnd(readBytes(fd, path, 0, Math.min(8, size)), path, size)), path, size);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    super(parsed, path);
    this.fd = fd;
  }

  get path(): string {
    return this.what;
  }

  read(name: string, shape?: number[]): Float32Array {
    const info = this.floatTensor(name, shape);
    return this.values(name, info, this.readBytes(info.begin, info.end - info.begin));
  }

  /** SHA-256 of the file's first 8 + N bytes (the length and the header), in hex: names what was read without hashing the data. */
  headerSha256(): string {
    return createHash('sha256').update(this.readBytes(0, this.parsed.dataStart)).digest('hex');
  }

  /** The file's size in bytes. */
  get size(): number {
    return this.parsed.dataStart + this.parsed.dataSize;
  }

  /**
   * Checks one tensor for NaN and ±Inf without holding it whole: read and decoded in chunks of at
   * most SCAN_CHUNK_BYTES. Throws the same error as read() (the tensor and the first index).
   */
  scanFinite(name: string): void {
    const info = this.floatTensor(name);
    for (const [at, end] of this.scanChunks(info)) this.checkChunk(name, info, at, this.readBytes(at, end - at));
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private readBytes(position: number, length: number): Uint8Array {
    return readBytes(this.fd, this.path, position, length);
  }
}

/** Bytes [position, position + length) of the open file `fd` (`path` names it in errors). */
function readBytes(fd: number, path: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  // readSync reads at most 2 GiB at a time.
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw new SafetensorsError(`${fileLabel(path)}: file ended at byte ${position + done}, expected ${position + length}`, 'truncated');
    done += n;
  }
  return out;
}

/** What a weights file says about the configuration. */
export interface WeightFileShape {
  /** L: the complete layers 0 … L−1 in the file. */
  layers: number;
  dModel: number;
  /** heads·dHead: the rows of W_Q. */
  inner: number;
  /** Every layer has the four projection biases. */
  bias: boolean;
  /** Every layer has input_layernorm.weight and .bias [dModel]. */
  layerNorm: boolean;
  /** Tensors outside the layer set (escape before printing: ignoredTensorsNote does). */
  ignored: string[];
}

/**
 * The number of layers and the widths, from a complete layer set (layer-set.ts: layers 0 … L−1
 * with no gap, each with q, k, v and o, biases and LayerNorm in every layer or none). A missing
 * or misnamed tensor is an error naming the layer and what it lacks; tensors the stack does not
 * use are listed in `ignored`, not refused.
 */
export function weightFileShape(file: SafetensorsFile): WeightFileShape {
  const set = layerSet(file.parsed.tensors.keys(), file.path);
  const shapes = (['q', 'k', 'v', 'o'] as const).map((p) => ({ p, name: weightName(0, p), shape: file.shape(weightName(0, p))! }));
  for (const { name, shape } of shapes) {
    const layout = name.includes('o_proj') ? '[dModel, heads·dHead]' : '[heads·dHead, dModel]';
    if (shape.length !== 2) {
      throw new SafetensorsError(`${fileLabel(file.path)}: tensor ${quoteName(name)} has shape [${shape.join(', ')}]; it must be 2-D ${layout} (PyTorch Linear layout)`, 'tensor-shape', name);
    }
    // An empty tensor is the file's fault, not a flag's: named as the tensor it is.
    if (shape.includes(0)) {
      throw new SafetensorsError(`${fileLabel(file.path)}: tensor ${quoteName(name)} has shape [${shape.join(', ')}]: it holds no values; ${layout} must both be at least 1`, 'tensor-shape', name);
    }
  }
  // Widths as each projection reads them ([inner, dModel]; o_proj transposed): the tensor that
  // disagrees with the other three is the one blamed (a transposed q_proj is q_proj's fault).
  const read = shapes.map(({ p, name, shape }) => ({ name, shape, inner: p === 'o' ? shape[1]! : shape[0]!, dModel: p === 'o' ? shape[0]! : shape[1]! }));
  const key = (r: { inner: number; dModel: number }) => `${r.inner}x${r.dModel}`;
  const votes = new Map<string, number>();
  for (const r of read) votes.set(key(r), (votes.get(key(r)) ?? 0) + 1);
  const [winner, n] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]!;
  const agreed = n >= 3 ? read.find((r) => key(r) === winner)! : read[0]!;
  for (const r of read) {
    if (key(r) === key(agreed)) continue;
    const expected = r.name.includes('o_proj') ? [agreed.dModel, agreed.inner] : [agreed.inner, agreed.dModel];
    const transposed = r.shape[0] === expected[1] && r.shape[1] === expected[0] ? ' (transposed?)' : '';
    const others = read.filter((o) => o !== r && key(o) === key(agreed)).map((o) => o.name.replace(/^layers\.0\.self_attn\./, '')).join(', ');
    throw new SafetensorsError(
      `${fileLabel(file.path)}: tensor ${quoteName(r.name)} has shape [${r.shape.join(', ')}], expected [${expected.join(', ')}]${transposed}` +
        (n >= 3 ? ` as ${others} give d_model ${agreed.dModel}, heads·d_head ${agreed.inner}` : ''), 'tensor-shape', r.name);
  }
  return { layers: set.layers, inner: agreed.inner, dModel: agreed.dModel, bias: set.bias, layerNorm: set.layerNorm, ignored: set.ignored };
}

const usesLayerNorm = (cfg: AttentionConfig): boolean => (cfg as { norm?: string }).norm === 'layernorm';

/**
 * Lines for the run's log about a weights file and the config it runs with (each escaped, one
 * line): layers of the file the run leaves out (--layers smaller than the file: the first
 * layers are used), biases or LayerNorm tensors the config does not use, and tensors outside
 * the layer set. Empty when the run uses the whole file.
 */
export function weightFileNotes(file: SafetensorsFile, cfg: AttentionConfig): string[] {
  const w = weightFileShape(file);
  const notes: string[] = [];
  const layers = layersUsedNote(file.path, Math.min(cfg.layers, w.layers), w.layers);
  if (layers) notes.push(layers);
  if (w.bias && !cfg.bias) notes.push(`${fileLabel(file.path)}: its projection biases are not used (the run has no --bias)`);
  if (w.layerNorm && !usesLayerNorm(cfg)) notes.push(`${fileLabel(file.path)}: its input_layernorm tensors are not used (the run has no LayerNorm)`);
  const ignored = ignoredTensorsNote(file.path, w.ignored);
  if (ignored) notes.push(ignored);
  return notes;
}

/** Lines for the run's log about tensors of an inputs file the run does not use (x, and context with --cross, are used). */
export function inputFileNotes(file: SafetensorsFile, cfg: AttentionConfig): string[] {
  const used = new Set(cfg.cross ? ['x', 'context'] : ['x']);
  const note = ignoredTensorsNote(file.path, [...file.parsed.tensors.keys()].filter((n) => !used.has(n)));
  return note ? [note] : [];
}

/**
 * Checks the file's layer set and every layer's tensors in the header, then returns a source
 * that reads them per layer. With `cfg.norm === 'layernorm'` each layer also carries its
 * input_layernorm weight and bias (lnGain, lnBias).
 */
export function weightsFromFile(file: SafetensorsFile, cfg: AttentionConfig): WeightSource {
  const set = layerSet(file.parsed.tensors.keys(), file.path);
  if (cfg.layers > set.layers) {
    throw new SafetensorsError(`${fileLabel(file.path)}: the run needs ${cfg.layers} layers but the file holds ${set.layers}`, 'layer-set');
  }
  const inner = innerWidth(cfg);
  const norm = usesLayerNorm(cfg);
  const shapes = { q: [inner, cfg.dModel], k: [inner, cfg.dModel], v: [inner, cfg.dModel], o: [cfg.dModel, inner] } as const;
  for (let l = 0; l < cfg.layers; l++) {
    for (const p of ['q', 'k', 'v', 'o'] as const) {
      file.check(weightName(l, p), [...shapes[p]]);
      if (cfg.bias) file.check(weightName(l, p, 'bias'), [shapes[p][0]]);
    }
    if (norm) {
      file.check(layerNormName(l, 'weight'), [cfg.dModel]);
      file.check(layerNormName(l, 'bias'), [cfg.dModel]);
    }
  }
  const readLayer = (l: number): LayerTensors => {
    const t: LayerTensors = {
      q: file.read(weightName(l, 'q')), k: file.read(weightName(l, 'k')),
      v: file.read(weightName(l, 'v')), o: file.read(weightName(l, 'o')),
    };
    if (cfg.bias) {
      t.qBias = file.read(weightName(l, 'q', 'bias'));
      t.kBias = file.read(weightName(l, 'k', 'bias'));
      t.vBias = file.read(weightName(l, 'v', 'bias'));
      t.oBias = file.read(weightName(l, 'o', 'bias'));
    }
    if (norm) {
      t.lnGain = file.read(layerNormName(l, 'weight'));
      t.lnBias = file.read(layerNormName(l, 'bias'));
    }
    return t;
  };
  // Double buffering on the host: layer l+1 is read (off the critical path, after a macrotask
  // boundary) while the GPU works on layer l. At most two layers are held in memory.
  let next: { layer: number; data: Promise<LayerTensors> } | null = null;
  const prefetch = (l: number) =>
    new Promise<LayerTensors>((resolve, reject) => setImmediate(() => {
      try { resolve(readLayer(l)); } catch (e) { reject(e); }
    }));
  return {
    kind: 'tensors',
    layer: async (l) => {
      const data = next && next.layer === l ? await next.data : readLayer(l);
      next = l + 1 < cfg.layers ? { layer: l + 1, data: prefetch(l + 1) } : null;
      next?.data.catch(() => undefined); // reported when that layer is asked for
      return data;
    },
  };
}

/**
 * Every tensor the run will read from a weights file (the first cfg.layers layers: projections,
 * and the biases and LayerNorm tensors the config uses), scanned for NaN and ±Inf in chunks
 * before any GPU work, so that a poisoned later layer is refused before layer 0 runs. Reads
 * those bytes once more than the run does.
 */
export function scanWeightsFinite(file: SafetensorsFile, cfg: AttentionConfig): void {
  for (let l = 0; l < cfg.layers; l++) {
    for (const p of ['q', 'k', 'v', 'o'] as const) {
      file.scanFinite(weightName(l, p));
      if (cfg.bias) file.scanFinite(weightName(l, p, 'bias'));
    }
    if (usesLayerNorm(cfg)) {
      file.scanFinite(layerNormName(l, 'weight'));
      file.scanFinite(layerNormName(l, 'bias'));
    }
  }
}

/** x [seq, dModel] and, for cross-attention, context [kvSeq, dModel], from a file the strict reader accepted. */
export function inputsFromFile(file: SafetensorsFile, cfg: AttentionConfig): Inputs {
  const x = file.read('x', [cfg.seq, cfg.dModel]);
  const context = cfg.cross ? file.read('context', [cfg.kvSeq, cfg.dModel]) : null;
  return { x, context };
}

/**
 * Writes y [seq, dModel] atomically (a temporary file in the same folder, then a rename): an
 * existing file is either the old result or the new one, never a cut-off mix. `metadata` goes
 * into `__metadata__` (string → string) so the file says how it was made and whether it passed.
 */
export function writeOutputFile(path: string, y: Float32Array, cfg: AttentionConfig, dtype: 'F32' | 'F16' = 'F32', metadata: Record<string, string> = {},
  extra: Record<string, { shape: number[]; data: Float32Array }> = {}): void {
  // `extra`: a model run's logits [vocab] of the last position, written F32 beside y.
  writeFileAtomic(path, serializeSafetensors({ ...extra, y: { shape: [cfg.seq, cfg.dModel], data: y, dtype } }, { producer: 'webgpu-attention', ...metadata }));
}
