// `params --model DIR` and `info --model DIR` from config.json alone (no weights in the folder):
// OPT-175B's config gives GPT-3's attention count and its total; the GPT-2 configs their
// published totals; a config the engine cannot run is refused in one line, no stack trace.

import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { GOLDEN_DIR } from '../helpers/golden.js';

const scratch = mkdtempSync(join(tmpdir(), 'wa-params-'));
/** A folder holding only the named published config.json. */
const configOnly = (name: string): string => {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(GOLDEN_DIR, 'configs', `${name}.config.json`), join(dir, 'config.json'));
  return dir;
};


describe('params --model', () => {
  it("OPT-175B: GPT-3's shape and what it costs", () => {
    const r = cli('params', '--model', configOnly('opt-175b'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('shape: 96 layers, 96 heads × d_head 128, d_model 12288, MLP 49152 (relu), vocabulary 50272, context 2048');
    expect(r.stdout).toContain('attention weights (4·d_model²·layers): 57,982,058,496');
    expect(r.stdout).toContain('parameters: 174,604,468,224 in all');
    expect(r.stdout).toContain('model.decoder.layers.{l}.fc1.weight [49152, 12288] + bias [49152]');
    expect(r.stdout).toMatch(/weights: 650\.45 GiB in f32, 325\.23 GiB in f16 or bf16; streamed per layer 6\.75 GiB in f32/);
  });

  it.each([['gpt2', 124_439_808], ['gpt2-medium', 354_823_168], ['gpt2-large', 774_030_080], ['gpt2-xl', 1_557_611_200]])('%s --json: %d parameters', (name, total) => {
    const r = cli('params', '--model', configOnly(name), '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.parameters.total).toBe(total);
    expect(report.model.family).toBe('gpt2');
    expect(report.layout.perLayer[2]).toEqual({ name: 'h.{l}.attn.c_attn.weight', shape: [report.model.config.dModel, 3 * report.model.config.dModel] });
    expect(report.bytes.f16.total).toBe(2 * total);
  });

  it.each<[string, () => string[], RegExp]>([
    ['OPT-350m', () => ['--model', configOnly('opt-350m')], /^error: .*config\.json: do_layer_norm_before false \(post-LayerNorm, as OPT-350m\): only pre-LayerNorm blocks are supported\n$/],
    ['no config.json', () => ['--model', scratch], /^error: --model ".*" has no config\.json: a Hugging Face checkpoint folder has config\.json beside its weights\n$/],
    ['a shape flag beside --model', () => ['--model', configOnly('gpt2'), '--layers', '3'], /^error: --layers cannot be combined with --model: the checkpoint's config\.json gives the model's shape\n$/],
  ])('refused: %s', (_what, args, message) => {
    const r = cli('params', ...args());
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('info --model', () => {
  it("GPT-2 small's plan on this adapter, from its config.json alone", () => {
    const r = cli('info', '--model', configOnly('gpt2'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    const f32 = info.model.plans.f32;
    expect(f32.seq).toBe(1024);
    expect(f32.plan.peakBytes).toBeGreaterThan(0);
    expect(f32.weightsPerLayerBytes).toBe(4 * 7_087_872);
    expect(f32.heldBytes).toBe(4 * (50257 * 768 + 1024 * 768 + 2 * 768));
    expect(f32.unembeddingChunkRows * f32.unembeddingChunks).toBeGreaterThanOrEqual(50257);
    expect(f32.unembeddingChunkRows * 768 * 4).toBeLessThanOrEqual(info.limits.maxStorageBufferBindingSize);
  });

  it("OPT-175B at its full context: the plan with its tables", () => {
    const r = cli('info', '--model', configOnly('opt-175b'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const f32 = JSON.parse(r.stdout).model.plans.f32;
    expect(f32.weightsPerLayerBytes).toBe(4 * 1_812_099_072);
    expect(f32.plan, f32.refused).not.toBeNull();
    // The token table [50272, 12288] (tied: also the unembedding) is on the GPU for the whole run.
    expect(f32.plan.peakBytes).toBeGreaterThan(50272 * 12288 * 4);
    expect(f32.longestSeq).toBeNull();
  });

  it('a context whose residual stream exceeds a binding: the longest sequence that fits', () => {
    const dir = join(scratch, 'wide-context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: 1, n_head: 96, n_embd: 12288, n_positions: 16384, vocab_size: 1000 }));
    const r = cli('info', '--model', dir, '--json');
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    const f32 = info.model.plans.f32;
    // x [seq, 12288] in f32 is bound whole: no more than binding / (12288·4) tokens.
    const most = Math.floor(info.limits.maxStorageBufferBindingSize / (12288 * 4));
    if (most >= 16384) {
      expect(f32.plan, f32.refused).not.toBeNull();
      return;
    }
    expect(f32.plan).toBeNull();
    expect(f32.refused).toMatch(/x \(residual stream\) \[seq, dModel\] needs .* over the adapter's maxStorageBufferBindingSize/);
    expect(f32.longestSeq).toBeGreaterThan(0);
    expect(f32.longestSeq).toBeLessThanOrEqual(most);
  });
});
