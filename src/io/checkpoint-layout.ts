// Which tensors of a Hugging Face checkpoint make up the model, by their names and config.json:
// GPT-2's layout (h.{l}.attn.c_attn …, Conv1D weights [in, out], with or without `transformer.`)
// or OPT's (model.decoder.layers.{l}.self_attn.q_proj …, Linear [out, in], with or without
// `model.`). Every tensor the run reads is named here with the shape config.json gives it; a
// missing one, one of another shape, a layer beyond the config's count or an OPT embedding
// projection is refused in one line naming the tensor. Then the re-layout into the engine's one
// form: PyTorch Linear [out, in], q | k | v apart (assembleLayer), done on the CPU.
// Pure TypeScript (no Node imports): names and shapes in, a layout out.

import { CheckpointError, type CheckpointConfig } from './checkpoint-config.js';
import { escapeUntrusted } from './escape.js';

export interface TensorSpec {
  name: string;
  /** The shape config.json gives it, as the file must hold it. */
  shape: number[];
}

export interface CheckpointLayout {
  family: CheckpointConfig['family'];
  /** Prefix found before the model's names: '', 'transformer.' (GPT-2), 'model.decoder.' or 'decoder.' (OPT). */
  prefix: string;
  /** Names of layer l's tensors, by role. */
  layer: (l: number) => LayerNames;
  tokenEmbedding: string;
  positionEmbedding: string;
  finalGain: string;
  finalBias: string;
  /** lm_head.weight when the files hold it; null when the unembedding is the token embedding (tied). */
  unembedding: string | null;
  /** Every tensor the run reads, globals first, then layer by layer, with the shape config.json gives it. */
  specs: TensorSpec[];
  /** GPT-2's attention-mask buffers (h.{l}.attn.bias, .masked_bias): not weights, not read. */
  buffers: string[];
  /** Other names of the files the run does not read. */
  ignored: string[];
}

export interface LayerNames {
  ln1Gain: string; ln1Bias: string;
  ln2Gain: string; ln2Bias: string;
  /** GPT-2: c_attn weight [d, 3d] and bias [3d] (q | k | v); OPT: null. */
  qkv: { weight: string; bias: string } | null;
  /** OPT: the separate projections; GPT-2: null. */
  q: { weight: string; bias: string } | null;
  k: { weight: string; bias: string } | null;
  v: { weight: string; bias: string } | null;
  out: { weight: string; bias: string };
  fc1: { weight: string; bias: string };
  fc2: { weight: string; bias: string };
}

const GPT2_PREFIXES = ['', 'transformer.'];
const OPT_PREFIXES = ['model.decoder.', 'decoder.'];
const GPT2_BUFFER = /^(?:transformer\.)?h\.(?:0|[1-9][0-9]*)\.attn\.(?:bias|masked_bias)$/;

/**
 * The layout of `names` (every tensor in the files) for `cfg`, each spec checked against
 * `shapeOf` (the shape a file's header gives; undefined: not in the files). `what` names the
 * checkpoint in messages.
 */
export function checkpointLayout(names: Iterable<string>, cfg: CheckpointConfig, shapeOf: (name: string) => number[] | undefined, what = 'checkpoint'): CheckpointLayout {
  const all = [...names];
  const present = new Set(all);
  const where = escapeUntrusted(what, 100, 'end');
  const refuse = (detail: string): never => {
    throw new CheckpointError(`${where}: ${detail}`);
  };
  const gpt2 = cfg.family === 'gpt2';
  const prefixes = gpt2 ? GPT2_PREFIXES : OPT_PREFIXES;
  const probe = gpt2 ? 'wte.weight' : 'embed_tokens.weight';
  const found = prefixes.filter((p) => present.has(p + probe));
  if (found.length > 1) refuse(`holds both ${found.map((p) => quote(p + probe)).join(' and ')}: one model per checkpoint`);
  if (found.length === 0) refuse(`no ${prefixes.map((p) => quote(p + probe)).join(' or ')}: not a ${gpt2 ? 'GPT-2' : 'OPT'} layout as config.json's model_type says; ${describe(all)}`);
  const prefix = found[0]!;
  // GPT2LMHeadModel and OPTForCausalLM both save it at the top level, beside the prefix.
  const unembedding = present.has(LM_HEAD) ? LM_HEAD : null;
  if (!unembedding && !cfg.tied) refuse(`config.json has tie_word_embeddings false but the files hold no ${quote(LM_HEAD)}`);
  const expected = expectedLayout(cfg, prefix, unembedding);
  const specs = expected.specs;
  const layerField = gpt2 ? 'n_layer' : 'num_hidden_layers';
  for (const s of specs) {
    const shape = shapeOf(s.name);
    if (!shape) {
      const m = /(?:^|\.)(?:h|layers)\.(0|[1-9][0-9]*)\./.exec(s.name);
      const inLayer = m ? ` (layer ${m[1]} of ${layerField} ${cfg.layers})` : '';
      refuse(`no tensor ${quote(s.name)}${inLayer} in the ${gpt2 ? 'GPT-2' : 'OPT'} layout`);
    }
    if (shape!.length !== s.shape.length || shape!.some((x, i) => x !== s.shape[i])) {
      refuse(`tensor ${quote(s.name)} has shape [${shape!.join(', ')}] but config.json gives [${s.shape.join(', ')}] (${s.why})`);
    }
  }
  const used = new Set(specs.map((s) => s.name));
  const buffers: string[] = [];
  const ignored: string[] = [];
  const layerName = gpt2 ? new RegExp(`^${escapeRegExp(prefix)}h\\.(0|[1-9][0-9]*)\\.`) : new RegExp(`^${escapeRegExp(prefix)}layers\\.(0|[1-9][0-9]*)\\.`);
  for (const name of all) {
    if (used.has(name)) continue;
    if (gpt2 && GPT2_BUFFER.test(name)) {
      buffers.push(name);
      continue;
    }
    const m = layerName.exec(name);
    if (m && Number(m[1]) >= cfg.layers) refuse(`tensor ${quote(name)} is in layer ${m[1]}, beyond ${layerField} ${cfg.layers} in config.json`);
    if (!gpt2 && /(?:^|\.)project_(?:in|out)\.weight$/.test(name)) {
      refuse(`tensor ${quote(name)} is an embedding projection (as OPT-350m's), which config.json does not declare and the engine does not run`);
    }
    ignored.push(name);
  }
  return { ...expected, specs: specs.map(({ name, shape }) => ({ name, shape })), buffers, ignored };
}

const LM_HEAD = 'lm_head.weight';

/**
 * The tensors a checkpoint of this config holds under `prefix`, with the shapes config.json gives
 * them (and why, for messages); `unembedding` is lm_head.weight's name when the files hold it.
 * From config.json alone (params --model): no names needed.
 */
export function expectedLayout(cfg: CheckpointConfig, prefix: string, unembedding: string | null):
  Omit<CheckpointLayout, 'buffers' | 'ignored' | 'specs'> & { specs: (TensorSpec & { why: string })[] } {
  const gpt2 = cfg.family === 'gpt2';
  const d = cfg.dModel;
  const pair = (base: string) => ({ weight: `${base}.weight`, bias: `${base}.bias` });
  const layer = (l: number): LayerNames => {
    if (gpt2) {
      const h = `${prefix}h.${l}.`;
      return {
        ln1Gain: `${h}ln_1.weight`, ln1Bias: `${h}ln_1.bias`, ln2Gain: `${h}ln_2.weight`, ln2Bias: `${h}ln_2.bias`,
        qkv: pair(`${h}attn.c_attn`), q: null, k: null, v: null, out: pair(`${h}attn.c_proj`),
        fc1: pair(`${h}mlp.c_fc`), fc2: pair(`${h}mlp.c_proj`),
      };
    }
    const h = `${prefix}layers.${l}.`;
    return {
      ln1Gain: `${h}self_attn_layer_norm.weight`, ln1Bias: `${h}self_attn_layer_norm.bias`,
      ln2Gain: `${h}final_layer_norm.weight`, ln2Bias: `${h}final_layer_norm.bias`,
      qkv: null, q: pair(`${h}self_attn.q_proj`), k: pair(`${h}self_attn.k_proj`), v: pair(`${h}self_attn.v_proj`),
      out: pair(`${h}self_attn.out_proj`), fc1: pair(`${h}fc1`), fc2: pair(`${h}fc2`),
    };
  };

  const g = {
    tokenEmbedding: prefix + (gpt2 ? 'wte.weight' : 'embed_tokens.weight'),
    positionEmbedding: prefix + (gpt2 ? 'wpe.weight' : 'embed_positions.weight'),
    finalGain: prefix + (gpt2 ? 'ln_f.weight' : 'final_layer_norm.weight'),
    finalBias: prefix + (gpt2 ? 'ln_f.bias' : 'final_layer_norm.bias'),
  };
  const field = (gpt2Name: string, optName: string) => (gpt2 ? gpt2Name : optName);
  const V = `${field('vocab_size', 'vocab_size')} ${cfg.vocab}`;
  const D = `${field('n_embd', 'hidden_size')} ${d}`;
  const F = `${field('n_inner', 'ffn_dim')} ${cfg.ffn}`;
  const specs: (TensorSpec & { why: string })[] = [
    { name: g.tokenEmbedding, shape: [cfg.vocab, d], why: `${V}, ${D}` },
    { name: g.positionEmbedding, shape: [cfg.positionRows, d], why: gpt2 ? `n_positions ${cfg.positions}, ${D}` : `max_position_embeddings ${cfg.positions} + 2, ${D}` },
    { name: g.finalGain, shape: [d], why: D },
    { name: g.finalBias, shape: [d], why: D },
  ];
  if (unembedding) specs.push({ name: unembedding, shape: [cfg.vocab, d], why: `${V}, ${D}` });
  for (let l = 0; l < cfg.layers; l++) {
    const n = layer(l);
    specs.push({ name: n.ln1Gain, shape: [d], why: D }, { name: n.ln1Bias, shape: [d], why: D });
    if (n.qkv) {
      specs.push({ name: n.qkv.weight, shape: [d, 3 * d], why: `${D}, 3·n_embd (Conv1D [in, out])` }, { name: n.qkv.bias, shape: [3 * d], why: '3·n_embd' });
      specs.push({ name: n.out.weight, shape: [d, d], why: D }, { name: n.out.bias, shape: [d], why: D });
    } else {
      for (const p of [n.q!, n.k!, n.v!, n.out]) specs.push({ name: p.weight, shape: [d, d], why: D }, { name: p.bias, shape: [d], why: D });
    }
    specs.push({ name: n.ln2Gain, shape: [d], why: D }, { name: n.ln2Bias, shape: [d], why: D });
    specs.push(
      { name: n.fc1.weight, shape: gpt2 ? [d, cfg.ffn] : [cfg.ffn, d], why: `${D}, ${F}` }, { name: n.fc1.bias, shape: [cfg.ffn], why: F },
      { name: n.fc2.weight, shape: gpt2 ? [cfg.ffn, d] : [d, cfg.ffn], why: `${F}, ${D}` }, { name: n.fc2.bias, shape: [d], why: D },
    );
  }
  return { family: cfg.family, prefix, layer, ...g, unembedding, specs };
}

/** One layer in the engine's form: PyTorch Linear [out, in] everywhere, q, k and v apart. */
export interface CheckpointLayerTensors {
  q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array;
  qBias: Float32Array; kBias: Float32Array; vBias: Float32Array; oBias: Float32Array;
  lnGain: Float32Array; lnBias: Float32Array;
  mlpLnGain: Float32Array; mlpLnBias: Float32Array;
  fc1: Float32Array; fc1Bias: Float32Array;
  fc2: Float32Array; fc2Bias: Float32Array;
}

/**
 * Layer l's tensors re-laid out for the engine: GPT-2's Conv1D weights [in, out] transposed to
 * [out, in], c_attn's [d, 3d] split into W_Q | W_K | W_V (columns 0…d, d…2d, 2d…3d) and its bias
 * likewise; OPT's Linear weights as they are. `read` returns a tensor's values (checked shape).
 */
export function assembleLayer(layout: CheckpointLayout, cfg: CheckpointConfig, l: number, read: (name: string) => Float32Array): CheckpointLayerTensors {
  const n = layout.layer(l);
  const d = cfg.dModel;
  const common = {
    lnGain: read(n.ln1Gain), lnBias: read(n.ln1Bias), mlpLnGain: read(n.ln2Gain), mlpLnBias: read(n.ln2Bias),
  };
  if (n.qkv) {
    const w = read(n.qkv.weight); // [d, 3d]
    const b = read(n.qkv.bias); // [3d]
    return {
      q: transposeColumns(w, d, 3 * d, 0, d), k: transposeColumns(w, d, 3 * d, d, d), v: transposeColumns(w, d, 3 * d, 2 * d, d),
      qBias: b.slice(0, d), kBias: b.slice(d, 2 * d), vBias: b.slice(2 * d, 3 * d),
      o: transposeColumns(read(n.out.weight), d, d, 0, d), oBias: read(n.out.bias),
      ...common,
      fc1: transposeColumns(read(n.fc1.weight), d, cfg.ffn, 0, cfg.ffn), fc1Bias: read(n.fc1.bias),
      fc2: transposeColumns(read(n.fc2.weight), cfg.ffn, d, 0, d), fc2Bias: read(n.fc2.bias),
    };
  }
  return {
    q: read(n.q!.weight), k: read(n.k!.weight), v: read(n.v!.weight), o: read(n.out.weight),
    qBias: read(n.q!.bias), kBias: read(n.k!.bias), vBias: read(n.v!.bias), oBias: read(n.out.bias),
    ...common,
    fc1: read(n.fc1.weight), fc1Bias: read(n.fc1.bias), fc2: read(n.fc2.weight), fc2Bias: read(n.fc2.bias),
  };
}

/** Columns c0 … c0+count of a row-major [rows, cols] matrix, transposed: [count, rows]. */
export function transposeColumns(m: Float32Array, rows: number, cols: number, c0: number, count: number): Float32Array {
  const out = new Float32Array(count * rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols + c0;
    for (let c = 0; c < count; c++) out[c * rows + r] = m[base + c]!;
  }
  return out;
}

/** "ignored 24 attention-mask buffers (h.{l}.attn.bias, .masked_bias): not weights" and the like, for the run's notes. */
export function layoutNotes(layout: CheckpointLayout, what: string): string[] {
  const where = escapeUntrusted(what, 100, 'end');
  const notes: string[] = [];
  if (layout.buffers.length) {
    notes.push(`${where}: ignored ${layout.buffers.length} attention-mask buffers (h.{l}.attn.bias, .masked_bias): constants of the causal mask, not weights`);
  }
  if (layout.ignored.length) {
    const shown = layout.ignored.slice(0, 2).map(quote).join(', ');
    notes.push(`${where}: ignored ${layout.ignored.length} ${layout.ignored.length === 1 ? 'tensor' : 'tensors'} the run does not use, e.g. ${shown}${layout.ignored.length > 2 ? ', …' : ''}`);
  }
  if (layout.unembedding === null) notes.push(`${where}: no lm_head.weight; the unembedding is the token embedding (tied)`);
  return notes;
}

const quote = (name: string): string => `'${escapeUntrusted(name, 64)}'`;

/** What the files hold, when it is not the layout expected: a few names, and a guess at whose. */
function describe(all: string[]): string {
  if (all.length === 0) return 'the files hold no tensors';
  const guess = all.some((n) => /^layers\.\d+\.self_attn\.q_proj\.weight$/.test(n)) ? ' (this project\'s own layout: run it with --weights FILE)'
    : all.some((n) => /(?:^|\.)decoder\.layers\.\d+\./.test(n)) ? ' (an OPT layout?)'
      : all.some((n) => /(?:^|\.)h\.\d+\.attn\.c_attn\./.test(n)) ? ' (a GPT-2 layout?)'
        : all.some((n) => /(?:^|\.)layers\.\d+\.self_attn\.(?:q|k|v)_proj\./.test(n) || /rotary|rope/.test(n)) ? ' (a rotary-attention layout?)' : '';
  return `they hold ${all.length} tensors, e.g. ${all.slice(0, 2).map(quote).join(', ')}${guess}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The dtypes of the tensors the model reads, with their counts: "F16 (41)" (`dtypeOf` from the file holding each). */
export function layoutDtypes(layout: CheckpointLayout, dtypeOf: (name: string) => string): string {
  const count = new Map<string, number>();
  for (const s of layout.specs) {
    const dtype = dtypeOf(s.name);
    count.set(dtype, (count.get(dtype) ?? 0) + 1);
  }
  return [...count].map(([d, n]) => `${d} (${n})`).join(', ');
}
