// The run's input files: paths checked (not empty, regular files, never blocking) and opened with
// the strict reader, and the configuration completed from their shapes, which must agree with
// the flags.

import { configFromFlags, type Flags } from './args.js';
import { ConfigError, resolveConfig, type AttentionConfig } from '../model/config.js';
import { InputError } from '../gpu/errors.js';
import { fileLabel } from '../io/safetensors.js';
import { checkInputPath } from '../node/paths.js';
import { SafetensorsFile, weightFileShape } from '../node/safetensors-file.js';

export interface RunFiles {
  weights: SafetensorsFile | null;
  input: SafetensorsFile | null;
}

export function openFiles(flags: Flags): RunFiles {
  // `--weights ""` (an unset shell variable) is an error, never a silent fall-back to seeded weights.
  const open = (flag: 'weights' | 'input') => (flags[flag] === undefined ? null : new SafetensorsFile(checkInputPath(`--${flag}`, String(flags[flag])).path, `--${flag}`));
  const weights = open('weights');
  try {
    return { weights, input: open('input') };
  } catch (e) {
    weights?.close();
    throw e;
  }
}

/** Flags first; dimensions the flags leave open come from the files' shapes, which must agree. */
export function configWithFiles(flags: Flags, files: RunFiles): AttentionConfig {
  const { base, overrides } = configFromFlags(flags);
  const agree = (flag: string, given: number | undefined, found: number, where: string): number => {
    if (given !== undefined && given !== found) throw new ConfigError(`${flag} ${given} disagrees with ${where}, which gives ${found}`);
    return found;
  };
  if (files.weights) {
    if (overrides.block === 'full') {
      throw new ConfigError(`--block full: ${fileLabel(files.weights.path)} holds attention layers only (no MLP weights); --block full runs seeded weights or a checkpoint`);
    }
    const w = weightFileShape(files.weights);
    const where = `${fileLabel(files.weights.path)} (${'layers.0.self_attn.q_proj.weight'} [${w.inner}, ${w.dModel}])`;
    overrides.dModel = agree('--d-model', overrides.dModel, w.dModel, where);
    if (overrides.layers === undefined) overrides.layers = w.layers;
    else if (overrides.layers > w.layers) throw new ConfigError(`--layers ${overrides.layers} exceeds the ${w.layers} layers in ${fileLabel(files.weights.path)}`);
    if (overrides.heads === undefined && overrides.dHead === undefined) {
      throw new ConfigError(`--heads or --d-head is needed: ${fileLabel(files.weights.path)} gives heads·d_head = ${w.inner} only`);
    }
    if (overrides.heads === undefined) overrides.heads = w.inner / overrides.dHead!;
    if (overrides.dHead === undefined) overrides.dHead = w.inner / overrides.heads;
    if (!Number.isInteger(overrides.heads) || !Number.isInteger(overrides.dHead) || overrides.heads * overrides.dHead !== w.inner) {
      throw new ConfigError(`--heads × --d-head must equal ${w.inner} (the rows of W_Q in ${fileLabel(files.weights.path)})`);
    }
    if (w.bias) overrides.bias = true;
    if (overrides.bias && !w.bias) throw new ConfigError(`--bias: ${fileLabel(files.weights.path)} has no biases`);
    if (overrides.norm === undefined && w.layerNorm) overrides.norm = 'layernorm';
    if (overrides.norm === 'layernorm' && !w.layerNorm) {
      throw new ConfigError(`--norm layernorm: ${fileLabel(files.weights.path)} has no layers.{l}.input_layernorm.weight and .bias`);
    }
  }
  if (files.input) {
    const x = files.input.shape('x');
    if (!x || x.length !== 2) throw new InputError(`${fileLabel(files.input.path)}: no 2-D tensor 'x' [seq, d_model]`);
    if (x.includes(0)) throw new InputError(`${fileLabel(files.input.path)}: tensor 'x' has shape [${x.join(', ')}]: it holds no values; [seq, d_model] must both be at least 1`);
    overrides.seq = agree('--seq', overrides.seq, x[0]!, `${fileLabel(files.input.path)} (x [${x.join(', ')}])`);
    overrides.dModel = agree('--d-model', overrides.dModel, x[1]!, `${fileLabel(files.input.path)} (x [${x.join(', ')}])`);
    if (overrides.cross) {
      const c = files.input.shape('context');
      if (!c && (flags['kv-seq'] ?? flags['context-seq']) === undefined) throw new InputError(`${fileLabel(files.input.path)}: --cross needs a tensor 'context' [context_seq, d_model]`);
      if (c && (c.length !== 2 || c.includes(0))) throw new InputError(`${fileLabel(files.input.path)}: tensor 'context' has shape [${c.join(', ')}]; it must be [context_seq, d_model], both at least 1`);
      if (c) overrides.kvSeq = agree('--kv-seq', overrides.kvSeq, c[0]!, `${fileLabel(files.input.path)} (context [${c.join(', ')}])`);
    }
  }
  return resolveConfig(overrides, base);
}
