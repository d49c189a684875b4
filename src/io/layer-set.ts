// Which tensors of a weights file make up the attention stack, checked as a whole: a file with
// a misnamed or missing tensor must be refused rather than silently run with fewer layers.
// Pure TypeScript (no Node imports): names in, a verdict out.
//
// Rules (each refusal a SafetensorsError with rule 'layer-set'):
//   - layers are named layers.{l}.… with l = 0 … L−1, no gap (no leading zeros: "layers.01." is
//     not a layer name and is reported as ignored);
//   - every layer has self_attn.{q,k,v,o}_proj.weight;
//   - the biases self_attn.{q,k,v,o}_proj.bias come four or none in a layer, and every layer or
//     none has them; likewise input_layernorm.{weight,bias} (two or none, every layer or none).
// Tensors outside that set are not refused: they are listed as ignored, for a note.

import { escapeUntrusted } from './escape.js';
import { SafetensorsError, fileLabel, quoteName } from './safetensors.js';
import { layerNormPart, projectionPart } from './weight-names.js';

const PROJECTIONS = ['q', 'k', 'v', 'o'] as const;
export const LAYER_WEIGHTS: readonly string[] = PROJECTIONS.map((p) => projectionPart(p, 'weight'));
export const LAYER_BIASES: readonly string[] = PROJECTIONS.map((p) => projectionPart(p, 'bias'));
export const LAYER_NORM: readonly string[] = [layerNormPart('weight'), layerNormPart('bias')];

export interface LayerSet {
  /** L: the layers 0 … L−1 that the file holds, each complete. */
  layers: number;
  /** Every layer has the four projection biases. */
  bias: boolean;
  /** Every layer has input_layernorm.weight and .bias. */
  layerNorm: boolean;
  /** Names of the file the layer set does not use (in the given order). */
  ignored: string[];
}

const LAYER_NAME = /^layers\.(0|[1-9][0-9]*)\.([^]*)$/;

/** Checks that `names` hold a complete set of layers; `what` names the file in messages. */
export function layerSet(names: Iterable<string>, what = 'weights'): LayerSet {
  const all = [...names];
  const byLayer = new Map<number, { label: string; parts: Set<string> }>();
  for (const name of all) {
    const m = LAYER_NAME.exec(name);
    if (!m) continue;
    // An index past 2^53 is still a layer (and a gap); its label is the digits as written.
    const index = m[1]!.length > 15 ? Number.MAX_SAFE_INTEGER : Number(m[1]);
    const entry = byLayer.get(index) ?? { label: m[1]!, parts: new Set<string>() };
    entry.parts.add(m[2]!);
    byLayer.set(index, entry);
  }
  const fail = (detail: string): never => {
    throw new SafetensorsError(`${fileLabel(what)}: ${detail}`, 'layer-set');
  };
  const indices = [...byLayer.keys()].sort((a, b) => a - b);
  const found = () => `found ${indices.length === 1 ? 'layer' : 'layers'} ${ranges(indices.map((i) => byLayer.get(i)!.label))}`;
  if (indices.length === 0) {
    const some = all.slice(0, 3).map((n) => quoteName(n)).join(', ');
    fail(`no layer tensors (layers.{l}.self_attn.{q,k,v,o}_proj.weight from l = 0); it has ${all.length ? `${all.length} tensors, e.g. ${some}` : 'no tensors'}`);
  }
  const layers = indices.length;
  for (let l = 0; l < layers; l++) {
    if (indices[l] !== l) fail(`layer ${l} lacks ${LAYER_WEIGHTS[0]} (layers are numbered from 0 with no gap); ${found()}`);
  }
  for (let l = 0; l < layers; l++) {
    const parts = byLayer.get(l)!.parts;
    const missing = LAYER_WEIGHTS.filter((w) => !parts.has(w));
    if (missing.length) {
      const unknown = [...parts].filter((p) => !isKnownPart(p)).slice(0, 2).map((p) => quoteName(`layers.${l}.${p}`));
      const hint = unknown.length ? ` (it has ${unknown.join(', ')}${unknown.length < [...parts].filter((p) => !isKnownPart(p)).length ? ', …' : ''})` : '';
      fail(`layer ${l} lacks ${list(missing)}${hint}; ${found()}`);
    }
  }
  const bias = optionalGroup(byLayer, layers, LAYER_BIASES, 'biases', fail);
  const layerNorm = optionalGroup(byLayer, layers, LAYER_NORM, 'input_layernorm weight and bias', fail);
  const used = new Set<string>();
  for (let l = 0; l < layers; l++) {
    for (const p of [...LAYER_WEIGHTS, ...(bias ? LAYER_BIASES : []), ...(layerNorm ? LAYER_NORM : [])]) used.add(`layers.${l}.${p}`);
  }
  return { layers, bias, layerNorm, ignored: all.filter((n) => !used.has(n)) };
}

/** A group of optional tensors: all or none in each layer, and the same choice in every layer. */
function optionalGroup(
  byLayer: Map<number, { parts: Set<string> }>,
  layers: number,
  group: readonly string[],
  words: string,
  fail: (detail: string) => never,
): boolean {
  let first: boolean | null = null;
  for (let l = 0; l < layers; l++) {
    const parts = byLayer.get(l)!.parts;
    const present = group.filter((g) => parts.has(g));
    if (present.length > 0 && present.length < group.length) {
      fail(`layer ${l} has ${list(present)} but lacks ${list(group.filter((g) => !parts.has(g)))}: the ${words} come all together or not at all`);
    }
    const has = present.length === group.length;
    if (first === null) first = has;
    else if (has !== first) {
      const [withIt, without] = has ? [l, 0] : [0, l];
      fail(`layer ${without} lacks the ${words} that layer ${withIt} has (${list(group)}): every layer has them or none does`);
    }
  }
  return first ?? false;
}

function isKnownPart(p: string): boolean {
  return LAYER_WEIGHTS.includes(p) || LAYER_BIASES.includes(p) || LAYER_NORM.includes(p);
}

/** "self_attn.q_proj.weight, self_attn.k_proj.weight and …" */
function list(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** Sorted labels as ranges: "0–3, 5, 7–9", at most 6 runs. */
function ranges(labels: string[]): string {
  const runs: string[] = [];
  let i = 0;
  while (i < labels.length) {
    let j = i;
    while (j + 1 < labels.length && Number(labels[j + 1]) === Number(labels[j]) + 1 && labels[j + 1]!.length <= 15) j++;
    runs.push(j === i ? escapeUntrusted(labels[i]!, 20) : `${labels[i]}–${labels[j]}`);
    i = j + 1;
  }
  return runs.length <= 6 ? runs.join(', ') : `${runs.slice(0, 6).join(', ')}, …`;
}

/** "w.safetensors: ignored 48 tensors the run does not use, e.g. 'layers.0.mlp.fc1.weight', …" or null. */
export function ignoredTensorsNote(what: string, ignored: readonly string[], examples = 2): string | null {
  if (ignored.length === 0) return null;
  const shown = ignored.slice(0, examples).map((n) => quoteName(n)).join(', ');
  const more = ignored.length > examples ? ', …' : '';
  return `${fileLabel(what)}: ignored ${ignored.length} ${ignored.length === 1 ? 'tensor' : 'tensors'} the run does not use, e.g. ${shown}${more}`;
}

/** "w.safetensors: using layers 0–1 of its 4 (--layers 2)" when a run uses fewer layers than the file holds, else null. */
export function layersUsedNote(what: string, used: number, inFile: number): string | null {
  if (used >= inFile) return null;
  const which = used === 1 ? 'layer 0' : `layers 0–${used - 1}`;
  const rest = used === inFile - 1 ? `layer ${used} is` : `layers ${used}–${inFile - 1} are`;
  return `${fileLabel(what)}: using ${which} of its ${inFile} (--layers ${used}); ${rest} not run`;
}
