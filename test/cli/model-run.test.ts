// `run --model DIR` as a user runs it (the bundle in a child process): the golden checkpoints
// (test/golden/checkpoints) with --text and --tokens, every layer verified, the next tokens, logits and last state
// against numpy's within the reach of the one judge's allowances (test/helpers/oracle-reach.ts); and every refusal:
// one line, no stack trace, no output file.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { CHECKPOINTS_DIR, editJson, useCheckpointCopies } from '../helpers/checkpoint-copies.js';
import { checkpointOracle, probabilityReach, topTokensDisagreement } from '../helpers/oracle-reach.js';
import { judge } from '../../src/verify/tolerance.js';

const DIR = CHECKPOINTS_DIR;
const CASES: { name: string; layers: number; dModel: number; vocab: number; text: string; tokens: number[]; top: { id: number; p: number }[] }[] =
  JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));
const { scratch, copyOf } = useCheckpointCopies('wa-model-');


/** numpy's states and logits and how far a model run may sit from them (computed once per case). */
const oracles = new Map<string, ReturnType<typeof checkpointOracle>>();
const oracle = (c: (typeof CASES)[number]) => oracles.get(c.name) ?? oracles.set(c.name, checkpointOracle(DIR, c.name, c.layers, c.tokens.length)).get(c.name)!;

/** Writes NaN over element `index` of an F32 tensor of a safetensors file, in place. */
function poison(path: string, name: string, index: number): void {
  const file = new SafetensorsFile(path);
  const info = file.parsed.tensors.get(name)!;
  file.close();
  const bytes = readFileSync(path);
  new DataView(bytes.buffer, bytes.byteOffset).setFloat32(info.begin + 4 * index, Number.NaN, true);
  writeFileSync(path, bytes);
}

describe.each(CASES)('run --model $name', (c) => {
  it('--text: the tokens, every layer verified, the next tokens and the logits as numpy gives them', () => {
    const out = join(scratch, `${c.name}.out.safetensors`);
    const r = cli('run', '--model', join(DIR, c.name), '--text', c.text, '--verify', 'exact', '--output', out, '--json');
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('passed');
    expect(j.tokens).toEqual(c.tokens);
    expect(j.config).toMatchObject({ layers: c.layers, dModel: c.dModel, seq: c.tokens.length, block: 'full', norm: 'layernorm', bias: true });
    expect(j.verification.passed).toBe(true);
    // Directly against numpy, within the reach of both sides' allowances through the stack (test/helpers/oracle-reach.ts).
    const o = oracle(c);
    const ids: number[] = j.nextTokens.map((t: { id: number }) => t.id);
    expect(topTokensDisagreement(ids, o.logits, o.reach.logits)).toBe('');
    const pReach = probabilityReach(o.p, o.logits, o.reach);
    const pNumpy = ids.map((id) => c.top.find((t) => t.id === id)?.p ?? o.p[id]!);
    const p = judge(j.nextTokens.map((t: { p: number }) => t.p), pNumpy, ids.map((id) => pReach[id]!), (i) => `p of id ${ids[i]}`);
    expect(p.passed, p.detail).toBe(true);
    expect(typeof j.nextTokens[0].text).toBe('string');
    const file = new SafetensorsFile(out);
    try {
      const logits = judge(file.read('logits', [c.vocab]), o.logits, o.reach.logits, (v) => `logit of id ${v}`);
      expect(logits.passed, logits.detail).toBe(true);
      const y = judge(file.read('y', [c.tokens.length, c.dModel]), o.states[c.layers]!, o.reach.states[c.layers]!);
      expect(y.passed, `y: ${y.detail}`).toBe(true);
    } finally {
      file.close();
    }
  });
});

describe('run --model, text output and options', () => {
  it('prints the next tokens, escaped; --tokens as given; --top; --block attention', () => {
    const r = cli('run', '--model', join(DIR, 'opt-sharded-f32'), '--tokens', '2,101,296', '--top', '3', '--verify', 'exact');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: 3 tokens from --tokens: \[2, 101, 296\]/);
    expect(r.stdout).toMatch(/^next token {3}\(last of 3 tokens; softmax of the logits in float64\)$/m);
    expect(r.stdout.match(/^ +[123]\. id +\d+ +'.*' +p 0\.\d{4}$/gm)).toHaveLength(3);
    // The model's ends are timed apart from the layers' stages.
    expect(r.stdout).toMatch(/^model ends {3}embedding \d+\.\d\d ms, final LayerNorm and logits \d+\.\d\d ms \(wall clock, read back included\)$/m);
    const a = JSON.parse(cli('run', '--model', join(DIR, 'gpt2-f32'), '--tokens', '5,17', '--block', 'attention', '--json').stdout);
    expect(a.status).toBe('passed');
    expect(a.config.block).toBe('attention');
    expect(a.nextTokens).toHaveLength(5);
    expect(a.timings.modelEndsMs.embedding).toBeGreaterThan(0);
    expect(a.timings.modelEndsMs.logits).toBeGreaterThan(0);
  });

  it.each([['--verify', 'sampled'], ['--attention', 'fused']])('%s %s: the layers and both ends checked, numpy\'s next tokens', (flag, value) => {
    const c = CASES.find((x) => x.name === 'opt-untied-f16')!;
    const r = cli('run', '--model', join(DIR, c.name), '--text', c.text, flag, value, '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('passed');
    expect(j.verification.embedding.passed).toBe(true);
    expect(j.verification.logits.passed).toBe(true);
    const o = oracle(c);
    expect(topTokensDisagreement(j.nextTokens.map((t: { id: number }) => t.id), o.logits, o.reach.logits)).toBe('');
  });
});

describe('run --model: names from outside escaped', () => {
  it("a folder named with ESC and a newline: every note one escaped line", () => {
    const dir = join(scratch, 'evil\u001b[31m\nnote: verification passed');
    mkdirSync(dir);
    for (const f of readdirSync(join(DIR, 'gpt2-f32'))) copyFileSync(join(DIR, 'gpt2-f32', f), join(dir, f));
    const r = cli('run', '--model', dir, '--tokens', '1,2', '--verify', 'none');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).not.toMatch(/\u001b/);
    expect(r.stderr).not.toMatch(/^note: verification passed/m);
    expect(r.stderr).toMatch(/evil\\x1b\[31m\\nnote: verification passed/);
  });
});

describe('run --model refusals: one line, no stack trace, no output file', () => {
  const gpt2 = join(DIR, 'gpt2-f32');
  const cases: [string, () => string[], RegExp][] = [
    ['--text without --model', () => ['--text', 'hi'], /^error: --text needs --model DIR/],
    ['--weights beside --model', () => ['--model', gpt2, '--text', 'a', '--weights', join(gpt2, 'model.safetensors')], /^error: --weights cannot be combined with --model: the checkpoint gives the weights$/],
    ['--seq beside --model', () => ['--model', gpt2, '--text', 'a', '--seq', '3'], /^error: --seq cannot be combined with --model: the tokens give the sequence length$/],
    ['no input', () => ['--model', gpt2], /^error: --model needs its input: --text/],
    ['both inputs', () => ['--model', gpt2, '--text', 'a', '--tokens', '1'], /^error: --text and --tokens both give the input: give one$/],
    ['an id past the vocabulary', () => ['--model', gpt2, '--tokens', '1,305'], /^error: --tokens: token 1 has id 305, at or past the vocabulary of 305 \(config\.json vocab_size\)$/],
    ['more tokens than positions', () => ['--model', gpt2, '--tokens', Array.from({ length: 25 }, () => '1').join(',')], /^error: --tokens gives 25 tokens, more than the model's 24 positions \(config\.json n_positions\)$/],
    ['a text longer than the context', () => ['--model', gpt2, '--text', 'the '.repeat(30)], /^error: --text gives \d+ tokens, more than the model's 24 positions \(config\.json n_positions\)$/],
    ['--text without tokenizer.json', () => ['--model', copyOf('gpt2-f32', (d) => rmSync(join(d, 'tokenizer.json'))), '--text', 'a'],
      /^error: --text needs the checkpoint's tokenizer\.json, which ".*" lacks: give the token ids with --tokens 5,17,42$/],
    ['--text with vocab.json and merges.txt only', () => ['--model', copyOf('gpt2-f32', (d) => { rmSync(join(d, 'tokenizer.json')); writeFileSync(join(d, 'vocab.json'), '{}'); writeFileSync(join(d, 'merges.txt'), ''); }), '--text', 'a'],
      /^error: --text needs the checkpoint's tokenizer\.json, which ".*" lacks \(it has vocab\.json and merges\.txt, which are not read: AutoTokenizer.from_pretrained\(DIR\)\.save_pretrained\(DIR\) writes tokenizer\.json\): give the token ids with --tokens 5,17,42$/],
    ['--block bogus', () => ['--model', gpt2, '--text', 'a', '--block', 'mlp'], /^error: --block must be attention or full, got 'mlp'$/],
    ['an index naming a missing shard', () => ['--model', copyOf('opt-sharded-f32', (d) => rmSync(join(d, 'model-00003-of-00003.safetensors'))), '--text', 'a'],
      /^error: .*model\.safetensors\.index\.json: names shard 'model-00003-of-00003\.safetensors' \(for tensor '.*'\), which is not in ".*"$/],
    ['a tensor absent from its shard', () => ['--model', copyOf('gpt2-sharded-f16', (d) => editJson(join(d, 'model.safetensors.index.json'), (j) => { j.weight_map['transformer.h.2.ln_2.bias'] = 'model-00001-of-00002.safetensors'; })), '--text', 'a'],
      /^error: .*maps tensor 'transformer\.h\.2\.ln_2\.bias' to shard 'model-00001-of-00002\.safetensors', which does not hold it$/],
    ['a shape disagreeing with config.json', () => ['--model', copyOf('opt-untied-f16', (d) => editJson(join(d, 'config.json'), (j) => { j.ffn_dim = 95; })), '--text', 'a'],
      /^error: .*: tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[96, 32\] but config\.json gives \[95, 32\] \(hidden_size 32, ffn_dim 95\)$/],
    ['OPT-350m\'s post-LayerNorm', () => ['--model', copyOf('opt-sharded-f32', (d) => editJson(join(d, 'config.json'), (j) => { j.do_layer_norm_before = false; })), '--text', 'a'],
      /^error: .*config\.json: do_layer_norm_before false \(post-LayerNorm, as OPT-350m\): only pre-LayerNorm blocks are supported$/],
    ['an embedding projection', () => ['--model', copyOf('opt-sharded-f32', (d) => editJson(join(d, 'config.json'), (j) => { j.word_embed_proj_dim = 16; })), '--text', 'a'],
      /^error: .*config\.json: word_embed_proj_dim 16 differs from hidden_size 36/],
    ['a rotary model', () => ['--model', copyOf('gpt2-f32', (d) => editJson(join(d, 'config.json'), (j) => { j.model_type = 'llama'; })), '--text', 'a'],
      /^error: .*config\.json: model_type "llama" is not supported: rotary position embeddings/],
    ['an unknown activation', () => ['--model', copyOf('gpt2-f32', (d) => editJson(join(d, 'config.json'), (j) => { j.activation_function = 'swish'; })), '--text', 'a'],
      /^error: .*config\.json: activation_function "swish" is not supported/],
    ['a NaN in the last layer, found before layer 0 runs', () => ['--model', copyOf('gpt2-f32', (d) => poison(join(d, 'model.safetensors'), 'h.1.mlp.c_proj.weight', 17)), '--text', 'a'],
      /^error: .*model\.safetensors: tensor 'h\.1\.mlp\.c_proj\.weight' has a non-finite value NaN at index 17$/],
    ['--output over a checkpoint file', () => ['--model', copyOf('gpt2-f32'), '--text', 'a', '--output', '@model'], /^error: --output .*model\.safetensors/],
  ];
  const JSON_CHECKED = new Set(['both inputs', 'a shape disagreeing with config.json', 'a NaN in the last layer, found before layer 0 runs']);
  let refusals = 0;
  it.each(cases)('%s', (_what, args, message) => {
    const list = args();
    const out = join(scratch, `refused-${refusals++}.safetensors`);
    const at = list.indexOf('@model');
    if (at >= 0) list[at] = join(list[list.indexOf('--model') + 1]!, 'model.safetensors');
    const withOutput = at >= 0 ? list : [...list, '--output', out];
    const before = at >= 0 ? readFileSync(list[at]!) : null;
    const r = cli('run', ...withOutput);
    expect(r.status, r.stdout).toBe(1);
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).toBe('');
    if (at >= 0) expect(readFileSync(list[at]!).equals(before!)).toBe(true);
    else expect(existsSync(out)).toBe(false);
    // --json: the same refusal as one JSON object. Every error reaches it through one path (src/cli/main.ts), so a
    // refusal of each kind — the flags, the checkpoint's files, the weights' scan — stands for the rest.
    if (!JSON_CHECKED.has(_what)) return;
    const j = cli('run', ...withOutput, '--json');
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({ status: 'error', exitCode: 1, error: r.stderr.trimEnd().replace(/^error: /, '') });
  });
});
