// A safetensors weights file picked or dropped into the page, read with the CLI's strict reader
// (src/io/safetensors.ts: every rule of the format, F32 only) and checked as a complete layer
// set (src/io/layer-set.ts). The file gives d_model, the inner width heads·d_head and the layer
// count; the split into heads × d_head comes from the form, or from the file's __metadata__.

import type { LayerTensors } from '../src/index.js';
import { ignoredTensorsNote, layerSet } from '../src/io/layer-set.js';
import { getF32, layerNormName, parseSafetensorsHeader, SafetensorsError, weightName } from '../src/io/safetensors.js';
import { escapeUntrusted } from '../src/io/escape.js';
import { PageError } from './errors.js';

export interface LoadedWeights {
  /** The file's name, escaped for display. */
  name: string;
  bytes: number;
  layers: number;
  dModel: number;
  /** heads·d_head: the rows of W_Q. */
  inner: number;
  bias: boolean;
  layerNorm: boolean;
  /** The split the file's __metadata__ names, if any. */
  heads: number | null;
  tensors: LayerTensors[];
  notes: string[];
}

const HEAD_KEYS = ['heads', 'num_heads', 'n_head', 'num_attention_heads'];
const D_HEAD_KEYS = ['d_head', 'head_dim', 'dHead'];

function metaInt(meta: Record<string, string>, keys: string[], what: string): number | null {
  for (const k of keys) {
    if (meta[k] === undefined) continue;
    const v = Number(meta[k]);
    if (!Number.isInteger(v) || v < 1) throw new PageError(`${what}: its metadata "${k}" is ${escapeUntrusted(meta[k]!, 20)}, not a positive whole number.`, 'weights-file');
    return v;
  }
  return null;
}

/** Reads and checks the whole file (the page holds it in memory: it is meant for small models). */
export function readWeights(name: string, bytes: Uint8Array): LoadedWeights {
  const label = escapeUntrusted(name, 80);
  try {
    const parsed = parseSafetensorsHeader(bytes, name, bytes.length);
    const set = layerSet(parsed.tensors.keys(), name);
    const q0 = parsed.tensors.get(weightName(0, 'q'))!;
    if (q0.shape.length !== 2) throw new PageError(`${label}: ${weightName(0, 'q')} has shape [${q0.shape.join(', ')}]; it must be 2-D [heads·d_head, d_model].`, 'weights-file');
    const [inner, dModel] = q0.shape as [number, number];
    const shapes = { q: [inner, dModel], k: [inner, dModel], v: [inner, dModel], o: [dModel, inner] } as const;
    const tensors: LayerTensors[] = [];
    for (let l = 0; l < set.layers; l++) {
      const read = (p: 'q' | 'k' | 'v' | 'o', kind: 'weight' | 'bias' = 'weight') =>
        getF32(bytes, parsed, weightName(l, p, kind), kind === 'weight' ? [...shapes[p]] : [shapes[p][0]], name);
      const t: LayerTensors = { q: read('q'), k: read('k'), v: read('v'), o: read('o') };
      if (set.bias) Object.assign(t, { qBias: read('q', 'bias'), kBias: read('k', 'bias'), vBias: read('v', 'bias'), oBias: read('o', 'bias') });
      if (set.layerNorm) {
        t.lnGain = getF32(bytes, parsed, layerNormName(l, 'weight'), [dModel], name);
        t.lnBias = getF32(bytes, parsed, layerNormName(l, 'bias'), [dModel], name);
      }
      tensors.push(t);
    }
    let heads = metaInt(parsed.metadata, HEAD_KEYS, label);
    const dHead = metaInt(parsed.metadata, D_HEAD_KEYS, label);
    if (heads === null && dHead !== null) heads = inner / dHead;
    if (heads !== null && (!Number.isInteger(heads) || inner % heads !== 0 || (dHead !== null && heads * dHead !== inner))) {
      throw new PageError(`${label}: its metadata splits the inner width ${inner} (rows of W_Q) as ${heads} heads × ${dHead ?? inner / heads}, which does not multiply to ${inner}.`, 'weights-file');
    }
    const ignored = ignoredTensorsNote(name, set.ignored);
    return { name: label, bytes: bytes.length, layers: set.layers, dModel, inner, bias: set.bias, layerNorm: set.layerNorm, heads, tensors, notes: ignored ? [ignored] : [] };
  } catch (e) {
    if (e instanceof SafetensorsError) throw new PageError(`The weights file was refused: ${e.message}`, 'weights-file');
    throw e;
  }
}

/**
 * Wires the file input, and drag-and-drop anywhere on the page (a checkpoint's folder or several
 * files go to `onOtherDrop`) (`zone` is highlighted while a
 * file is dragged; a drop elsewhere would otherwise make the browser open the file and leave).
 */
export function wireWeightsInput(input: HTMLInputElement, zone: HTMLElement, onLoad: (w: LoadedWeights) => void, onError: (e: unknown) => void,
  /** Takes a drop that is not one weights file (a checkpoint's folder or files); returns whether it did. */
  onOtherDrop: (dt: DataTransfer | null) => boolean = () => false): void {
  const take = async (file: File | undefined) => {
    if (!file) return;
    try {
      onLoad(readWeights(file.name, new Uint8Array(await file.arrayBuffer())));
    } catch (e) {
      onError(e);
    }
  };
  input.addEventListener('change', () => void take(input.files?.[0]));
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.dataset.drag = 'over';
  });
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) delete zone.dataset.drag;
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    delete zone.dataset.drag;
    if (onOtherDrop(e.dataTransfer)) return;
    void take(e.dataTransfer?.files[0]);
  });
}
