// `params --model DIR`: what a checkpoint's config.json says the model is and costs, with no
// weights read: its layout and shapes, the chapter's attention-weight count (4·d_model²·layers),
// the whole model's parameters (a tied unembedding counted once) and its bytes per precision.

import { ConfigError } from '../model/config.js';
import { checkpointParameters, type CheckpointConfig, type CheckpointParameters } from '../io/checkpoint-config.js';
import { expectedLayout } from '../io/checkpoint-layout.js';
import { formatBytes } from '../gpu/errors.js';
import { readCheckpointConfig } from '../node/checkpoint.js';
import { showPath } from '../node/paths.js';
import type { Flags } from './args.js';

/** Flags that set the shape, which a checkpoint's config.json gives instead. */
const SHAPE_FLAGS = ['preset', 'layers', 'heads', 'd-model', 'd-head', 'max-seq', 'context', 'kv-seq', 'context-seq', 'cross', 'no-mask', 'norm', 'bias', 'weights', 'input'];

/** Refuses a shape flag beside --model: the checkpoint decides, and a silently ignored flag would mislead. */
export function refuseShapeFlags(flags: Flags): void {
  const given = SHAPE_FLAGS.filter((f) => flags[f] !== undefined);
  if (given.length === 0) return;
  const why = given[0] === 'weights' ? 'the checkpoint gives the weights' : given[0] === 'input' ? 'the tokens give the input' : "the checkpoint's config.json gives the model's shape";
  throw new ConfigError(`--${given[0]} cannot be combined with --model: ${why}`);
}

export interface TensorShape { name: string; shape: number[] }

export interface ModelParamsReport {
  model: { dir: string; family: 'gpt2' | 'opt'; config: CheckpointConfig };
  layout: { prefix: string; model: TensorShape[]; perLayer: TensorShape[]; positionOffset: number; unembedding: string };
  parameters: CheckpointParameters;
  bytes: Record<'f32' | 'f16' | 'bf16', { total: number; perLayer: number; outsideLayers: number }>;
}

export function modelParamsReport(dir: string): ModelParamsReport {
  const { config: c } = readCheckpointConfig(dir);
  const gpt2 = c.family === 'gpt2';
  const layout = expectedLayout(c, gpt2 ? '' : 'model.decoder.', c.tied ? null : 'lm_head.weight');
  const layer0 = new Set(Object.values(layout.layer(0)).flatMap((v) => (v === null ? [] : typeof v === 'string' ? [v] : [v.weight, v.bias])));
  const inLayer = /(?:^|\.)(?:h|layers)\.\d+\./;
  const template = (name: string) => name.replace(gpt2 ? /^h\.0\./ : /^model\.decoder\.layers\.0\./, gpt2 ? 'h.{l}.' : 'model.decoder.layers.{l}.');
  const p = checkpointParameters(c);
  const bytes = (per: number) => ({ total: per * p.total, perLayer: per * p.perLayer.total, outsideLayers: per * (p.total - p.perLayer.total * c.layers) });
  return {
    model: { dir, family: c.family, config: c },
    layout: {
      prefix: layout.prefix,
      model: layout.specs.filter((s) => !inLayer.test(s.name)).map(({ name, shape }) => ({ name, shape })),
      perLayer: layout.specs.filter((s) => layer0.has(s.name)).map(({ name, shape }) => ({ name: template(name), shape })),
      positionOffset: c.positionOffset,
      unembedding: layout.unembedding ?? `${layout.tokenEmbedding} (tied)`,
    },
    parameters: p,
    bytes: { f32: bytes(4), f16: bytes(2), bf16: bytes(2) },
  };
}

export function printModelParams(r: ModelParamsReport): void {
  const c = r.model.config;
  const n = (x: number) => x.toLocaleString('en-US');
  const p = r.parameters;
  const gpt2 = c.family === 'gpt2';
  const shapes = (list: TensorShape[]): string => {
    // "ln_1.weight [768] + bias [768]": a weight and its bias on one entry.
    const names = new Map(list.map((t) => [t.name, t.shape]));
    const out: string[] = [];
    for (const t of list) {
      const bias = t.name.endsWith('.weight') ? names.get(t.name.slice(0, -'weight'.length) + 'bias') : undefined;
      if (t.name.endsWith('.bias') && names.has(t.name.slice(0, -'bias'.length) + 'weight')) continue;
      out.push(`${t.name} [${t.shape.join(', ')}]${bias ? ` + bias [${bias.join(', ')}]` : ''}`);
    }
    return out.join(', ');
  };
  console.log(`model: ${gpt2 ? 'GPT-2' : 'OPT'} (config.json of ${showPath(r.model.dir)})`);
  console.log(`shape: ${c.layers} layers, ${c.heads} heads × d_head ${c.dHead}, d_model ${c.dModel}, MLP ${c.ffn} (${c.activation}), ` +
    `vocabulary ${c.vocab}, context ${c.positions}, LayerNorm eps ${c.lnEps.toExponential()}`);
  console.log(`layout (${gpt2 ? "GPT-2; Conv1D weights [in, out], read transposed; also with the prefix 'transformer.'" : "OPT; Linear [out, in]; also with the prefix 'decoder.'"}):`);
  console.log(`  model: ${shapes(r.layout.model)}${c.positionOffset ? ` (position p is row p + ${c.positionOffset})` : ''}`);
  console.log(`  unembedding: ${r.layout.unembedding}`);
  console.log(`  each layer: ${shapes(r.layout.perLayer)}`);
  console.log(`attention weights (4·d_model²·layers): ${n(p.attentionWeights)}`);
  console.log(`parameters: ${n(p.total)} in all: ${n(p.perLayer.total)} per layer × ${c.layers} (attention ${n(p.perLayer.attention)} + biases ${n(p.perLayer.attentionBiases)}, ` +
    `LayerNorms ${n(p.perLayer.layerNorms)}, MLP ${n(p.perLayer.mlp)}), token embedding ${n(p.tokenEmbedding)}${c.tied ? ' (also the unembedding: tied, counted once)' : ''}, ` +
    `positions ${n(p.positionEmbedding)}, final LayerNorm ${n(p.finalLayerNorm)}${p.unembedding ? `, unembedding ${n(p.unembedding)}` : ''}`);
  console.log(`weights: ${formatBytes(r.bytes.f32.total)} in f32, ${formatBytes(r.bytes.f16.total)} in f16 or bf16; ` +
    `streamed per layer ${formatBytes(r.bytes.f32.perLayer)} in f32, ${formatBytes(r.bytes.f16.perLayer)} in f16; ` +
    `embeddings and unembedding held throughout ${formatBytes(r.bytes.f32.outsideLayers)} in f32`);
}
