// safetensors files on disk, read without loading them whole: the header first (every tensor's
// name, dtype and shape is checked before any GPU work), then one tensor's byte range at a time.
// Weights stream layer by layer; the next layer is read while the GPU runs the current one.

import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { innerWidth, type AttentionConfig } from '../model/config.js';
import type { Inputs, LayerTensors, WeightSource } from '../model/weights.js';
import {
  assertFinite, decodeF32, f32TensorInfo, headerLength, parseSafetensorsHeader, serializeSafetensors, weightName,
  SafetensorsError, type ParsedSafetensors,
} from '../io/safetensors.js';

export class SafetensorsFile {
  readonly parsed: ParsedSafetensors;
  private fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      const size = fstatSync(this.fd).size;
      const prefix = this.readBytes(0, Math.min(8, size));
      const n = headerLength(prefix, path);
      if (8 + n > size) throw new SafetensorsError(`${path}: header length ${n} exceeds the file size ${size}`);
      this.parsed = parseSafetensorsHeader(this.readBytes(0, 8 + n), path, size);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  has(name: string): boolean {
    return this.parsed.tensors.has(name);
  }

  shape(name: string): number[] | undefined {
    return this.parsed.tensors.get(name)?.shape;
  }

  /** Checks name, dtype and shape from the header alone. */
  check(name: string, shape: number[]): void {
    f32TensorInfo(this.parsed, name, shape, this.path);
  }

  read(name: string, shape?: number[]): Float32Array {
    const info = f32TensorInfo(this.parsed, name, shape, this.path);
    const data = decodeF32(this.readBytes(info.begin, info.end - info.begin));
    assertFinite(name, data, this.path);
    return data;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private readBytes(position: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    // readSync reads at most 2 GiB at a time.
    while (done < length) {
      const n = readSync(this.fd, out, done, Math.min(length - done, 1 << 30), position + done);
      if (n === 0) throw new SafetensorsError(`${this.path}: file ended at byte ${position + done}, expected ${position + length}`);
      done += n;
    }
    return out;
  }
}

/** What a weights file says about the configuration: the number of layers and the widths. */
export function weightFileShape(file: SafetensorsFile): { layers: number; dModel: number; inner: number; bias: boolean } {
  const q = file.shape(weightName(0, 'q'));
  if (!q || q.length !== 2) {
    throw new SafetensorsError(`${file.path}: no 2-D tensor '${weightName(0, 'q')}' ([heads·dHead, dModel], PyTorch Linear layout)`);
  }
  let layers = 0;
  while (file.has(weightName(layers, 'q'))) layers++;
  return { layers, inner: q[0]!, dModel: q[1]!, bias: file.has(weightName(0, 'q', 'bias')) };
}

/** Checks every layer's tensors in the header, then returns a source that reads them per layer. */
export function weightsFromFile(file: SafetensorsFile, cfg: AttentionConfig): WeightSource {
  const inner = innerWidth(cfg);
  const shapes = { q: [inner, cfg.dModel], k: [inner, cfg.dModel], v: [inner, cfg.dModel], o: [cfg.dModel, inner] } as const;
  for (let l = 0; l < cfg.layers; l++) {
    for (const p of ['q', 'k', 'v', 'o'] as const) {
      file.check(weightName(l, p), [...shapes[p]]);
      if (cfg.bias) file.check(weightName(l, p, 'bias'), [shapes[p][0]]);
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

export function inputsFromFile(file: SafetensorsFile, cfg: AttentionConfig): Inputs {
  const x = file.read('x', [cfg.seq, cfg.dModel]);
  const context = cfg.cross ? file.read('context', [cfg.contextSeq, cfg.dModel]) : null;
  return { x, context };
}

export function writeOutputFile(path: string, y: Float32Array, cfg: AttentionConfig): void {
  writeFileSync(path, serializeSafetensors({ y: { shape: [cfg.seq, cfg.dModel], data: y } }, { producer: 'webgpu-attention' }));
}
