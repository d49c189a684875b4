// `run --block full` as a user runs it (the bundle in a child process): the MLP in the JSON config,
// stages and FLOPs, verified exact and sampled; the flags' refusals in one line.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { freshSeed } from '../helpers/seeds.js';

const SHAPE = ['--layers', '2', '--heads', '2', '--d-model', '48', '--d-head', '16', '--seq', '11'];


describe('run --block full', () => {
  it.each(['exact', 'sampled'])('verified %s: the JSON says block, MLP width, activation; the MLP stages are timed', (mode) => {
    const seed = freshSeed();
    const r = cli('run', ...SHAPE, '--block', 'full', '--ffn', '99', '--activation', 'relu', '--verify', mode, '--seed', String(seed), '--json');
    expect(r.status, `seed ${seed}: ${r.stderr}`).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('passed');
    expect(j.config).toMatchObject({ block: 'full', norm: 'layernorm', ffn: 99, activation: 'relu', lnEps: 1e-5 });
    expect(j.verification.passed, `seed ${seed}: ${j.verification.detail}`).toBe(true);
    expect(Object.keys(j.timings.stagesMs)).toEqual(expect.arrayContaining(['mlp-norm', 'mlp-up', 'mlp-down']));
    expect(j.flops.perLayer).toBeGreaterThan(2 * 2 * 11 * 48 * 99);
    if (mode === 'sampled') {
      const names = j.layerChecks[0].checks.map((c: { name: string }) => c.name);
      expect(names).toEqual(expect.arrayContaining(['LN2(x)', 'MLP up h = relu(LN2·fc1ᵀ + b1)', 'x_out = x + h·fc2ᵀ + b2']));
    }
  });

  it('params --block full counts the MLP: GPT-2 small\'s widths give 4,722,432 MLP parameters a layer and its FLOPs', () => {
    const r = cli('params', '--layers', '12', '--heads', '12', '--d-model', '768', '--d-head', '64', '--seq', '1024', '--block', 'full', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.parameters.mlpPerLayer).toBe(2 * 768 * 3072 + 3072 + 768);
    expect(j.parameters.mlpTotal).toBe(12 * 4722432);
    expect(j.forward.mlpFlopsPerLayer).toBe(2 * 2 * 1024 * 768 * 3072);
    expect(j.forward.flopsPerLayer).toBe(j.forward.projectionFlopsPerLayer + j.forward.attentionCoreFlopsPerLayer + j.forward.mlpFlopsPerLayer);
    const bare = JSON.parse(cli('params', '--layers', '12', '--heads', '12', '--d-model', '768', '--d-head', '64', '--seq', '1024', '--json').stdout);
    expect(bare.parameters.mlpPerLayer).toBeUndefined();
    expect(bare.forward.mlpFlopsPerLayer).toBe(0);
    // f32 weights per layer: attention + MLP + LN2's gain and bias.
    expect(j.forward.bytesPerPrecision.f32.weightsPerLayer - bare.forward.bytesPerPrecision.f32.weightsPerLayer).toBe(4 * 4722432 + 4 * 2 * 768);
  });

  it.each([
    [['--block', 'full', '--norm', 'none'], /--block full needs --norm layernorm/],
    [['--block', 'mlp'], /--block must be attention or full, got 'mlp'/],
    [['--ffn', '64'], /--ffn applies to the MLP: add --block full/],
    [['--block', 'full', '--activation', 'gelu'], /--activation must be gelu_new or relu, got 'gelu'/],
    [['--block', 'full', '--ffn', '0'], /--ffn must be a positive integer/],
  ])('%j is refused in one line', (args, message) => {
    const r = cli('run', ...SHAPE, ...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
