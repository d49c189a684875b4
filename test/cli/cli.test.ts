// The command as a user runs it: the esbuild bundle in a child process, JSON on stdout,
// exit status, safetensors in and out, and clear errors for bad input.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, spawnCli, tuneDir } from '../helpers/cli.js';
import { serializeSafetensors, weightName } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { GPT3, resolveConfig } from '../../src/model/config.js';
import { estimateSeconds } from '../../src/model/rates.js';
import { formatRate, formatSeconds, slowRunNote } from '../../src/cli/slow-run.js';
import { checkLayer } from '../../src/verify/exact.js';
import { freshSeed, rng, uniformArray } from '../helpers/seeds.js';

// The tuning folder of these runs (test/helpers/cli.ts): a fresh one, never the user's.
const tuneFile = join(tuneDir, 'matmul-tiles.json');
const attentionFile = join(tuneDir, 'attention-cores.json');
const json = (...args: string[]) => {
  const r = cli(...args, '--json');
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const SHAPE = ['--layers', '2', '--heads', '4', '--d-model', '256', '--d-head', '64', '--seq', '33'];


describe('webgpu-attention run', () => {
  it('the issue’s example passes exact verification: causal, unmasked, cross', () => {
    for (const extra of [[], ['--no-mask'], ['--cross', '--context-seq', '20']]) {
      const seed = freshSeed();
      const r = json('run', ...SHAPE, ...extra, '--verify', 'exact', '--seed', String(seed));
      expect(r.verification.mode).toBe('exact');
      expect(r.verification.passed, `seed ${seed}: ${r.verification.detail}`).toBe(true);
      expect(r.verification.worstRatio, `seed ${seed}`).toBeLessThan(1);
      expect(r.verification.tolerance).toMatch(/per element/);
      expect(r.config.cross).toBe(extra[0] === '--cross');
      expect(r.adapter.name).toBeTruthy();
      expect(r.timings.perLayerMs).toHaveLength(2);
      expect(r.timings.perLayerStagesMs).toHaveLength(2);
      expect(r.timings.perLayerStagesMs[1].qkv).toBeGreaterThan(0);
      expect(r.timings.modelEndsMs).toBeNull(); // no model: no embedding or logits to time
      expect(r.flops.total).toBeGreaterThan(0);
      // A run this small is under the limit even at the floor rates: a software adapter prices it without the probe.
      if (r.adapter.isSoftware) expect(r.slowRunCheck).toMatchObject({ checked: true, by: 'bound', refused: false, probeMs: null });
      else expect(r.slowRunCheck).toBeNull();
    }
  });

  it('--tune times the matmul configs and the attention cores once, keeps the winners per adapter, and later runs reuse them', () => {
    const small = ['--layers', '1', '--heads', '2', '--d-model', '64', '--d-head', '32', '--seq', '9'];
    const first = json('run', ...small, '--no-tune');
    expect(first.matmul.source).toBe('default');
    expect(first.attention.source).toBe('rule');
    const tuned = json('run', ...small, '--tune');
    expect(tuned.matmul.source).toBe('tuned');
    expect(tuned.attention.source).toBe('tuned');
    expect(tuned.verification.passed).toBe(true);
    const cores = JSON.parse(readFileSync(attentionFile, 'utf8'));
    const timed = Object.values(cores.entries) as { mode: string; materializedMs: number; fusedMs: number }[];
    expect(timed).toHaveLength(1);
    expect(timed[0]!.mode).toBe(tuned.attention.mode);
    expect(timed[0]!.mode).toBe(timed[0]!.fusedMs < timed[0]!.materializedMs ? 'fused' : 'materialized');
    const stored = JSON.parse(readFileSync(tuneFile, 'utf8'));
    const entries = Object.values(stored.entries) as { tile: unknown; tflops: number }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]!.tile).toEqual(tuned.matmul.config);
    expect(entries[0]!.tflops).toBeGreaterThan(0);
    // Without a flag, a software adapter is not timed, but a stored choice is used.
    const again = json('run', ...small);
    expect(again.matmul.source).toBe('store');
    expect(again.matmul.config).toEqual(tuned.matmul.config);
    expect(again.attention).toEqual({ mode: tuned.attention.mode, source: 'store' });
    const untuned = json('run', ...small, '--no-tune');
    expect(untuned.matmul.source).toBe('default');
    expect(untuned.attention.source).toBe('rule');
    const bad = cli('run', ...small, '--tune', '--no-tune');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--no-tune contradicts --tune/);
  });

  it('Ctrl-C stops after the current layer, reports the layers run, and exits 130', async () => {
    const child = spawnCli(['run', '--layers', '400', '--heads', '2', '--d-model', '64', '--d-head', '32', '--seq', '64', '--verify', 'exact', '--json']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/layer 3\/400/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT: stopping after the current step/);
    const r = JSON.parse(stdout);
    expect(r.stopped).toBe(true);
    expect(r.status).toBe('interrupted');
    expect(r.layersRun).toBeGreaterThanOrEqual(3);
    expect(r.layersRun).toBeLessThan(400);
    // What ran is still checked: the float64 reference of the layers run.
    expect(r.verification.passed).toBe(true);
  });

  it('sampled verification passes and reports each layer', () => {
    const r = json('run', '--layers', '2', '--heads', '3', '--d-model', '96', '--d-head', '16', '--seq', '9', '--verify', 'sampled');
    expect(r.verification.mode).toBe('sampled');
    expect(r.verification.passed).toBe(true);
    expect(r.layerChecks).toHaveLength(2);
  });

  it('weights and input from safetensors files, output written, same as the CPU reference', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-cli-'));
    const cfg = resolveConfig({ layers: 2, heads: 3, dModel: 24, dHead: 8, seq: 5, cross: true, kvSeq: 7, mask: false });
    const seed = freshSeed();
    const random = rng(seed);
    const rand = (n: number) => uniformArray(random, n);
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    const layers = [0, 1].map((l) => {
      const w = { q: rand(24 * 24), k: rand(24 * 24), v: rand(24 * 24), o: rand(24 * 24).map((v) => v * 0.2) };
      for (const p of ['q', 'k', 'v', 'o'] as const) tensors[weightName(l, p)] = { shape: [24, 24], data: w[p] };
      return w;
    });
    const x = rand(5 * 24);
    const context = rand(7 * 24);
    writeFileSync(join(dir, 'w.safetensors'), serializeSafetensors(tensors));
    writeFileSync(join(dir, 'in.safetensors'), serializeSafetensors({ x: { shape: [5, 24], data: x }, context: { shape: [7, 24], data: context } }));
    const r = json('run', '--weights', join(dir, 'w.safetensors'), '--input', join(dir, 'in.safetensors'), '--heads', '3', '--cross',
      '--output', join(dir, 'out.safetensors'));
    expect(r.config).toMatchObject({ layers: 2, heads: 3, dHead: 8, dModel: 24, seq: 5, kvSeq: 7, cross: true });
    expect(r.verification.passed, `seed ${seed}: ${r.verification.detail}`).toBe(true);
    const y = new SafetensorsFile(join(dir, 'out.safetensors')).read('y', [5, 24]);
    // The written output judged by the one judge, layer by layer (src/verify/exact.ts checkLayer, λ·e): layer 0 from
    // a run of the first layer alone (the same kernels, so the same residual stream the second layer read), then
    // layer 1 from that.
    writeFileSync(join(dir, 'w0.safetensors'), serializeSafetensors(Object.fromEntries((['q', 'k', 'v', 'o'] as const).map((p) => [weightName(0, p), tensors[weightName(0, p)]!]))));
    json('run', '--weights', join(dir, 'w0.safetensors'), '--input', join(dir, 'in.safetensors'), '--heads', '3', '--cross', '--output', join(dir, 'out0.safetensors'));
    const y0 = new SafetensorsFile(join(dir, 'out0.safetensors')).read('y', [5, 24]);
    for (const [l, input, output] of [[0, x, y0], [1, y0, y]] as const) {
      const check = checkLayer(cfg, l, layers[l]!, context, input, output);
      expect(check.passed, `seed ${seed}, layer ${l}: ${check.detail}`).toBe(true);
    }
  });

  it.each([
    [['--heads', '0'], /--heads must be a positive integer, got '0'/],
    [['--seq=-3'], /--seq must be a positive integer, got '-3'/],
    [['--d-model', '2.5'], /--d-model must be a positive integer, got '2.5'/],
    [['--seq', '3000'], /--seq 3000 exceeds the configured context of 2048 tokens/],
    [['--verify', 'maybe'], /--verify must be exact, sampled or none/],
    [['--weights', '/nonexistent.safetensors'], /no such file|ENOENT/],
    [['--context-seq', '5'], /--kv-seq applies to cross-attention only/],
    [['--kv-seq', '5'], /--kv-seq applies to cross-attention only/],
    [['--kv-seq', '5', '--context-seq', '5', '--cross'], /--kv-seq and --context-seq are the same flag/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['--attention', 'flash'], /--attention must be auto, fused or materialized, got 'flash'/],
    [['--attention', 'fused', '--heads', '1', '--d-head', '160', '--d-model', '160'], /--attention fused: --d-head 160 fits no fused attention tile/],
  ])('refuses %j', (args, message) => {
    const r = cli('run', ...args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('a malformed safetensors file and a wrong dtype are named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-cli-'));
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 9000n, true);
    writeFileSync(join(dir, 'bad.safetensors'), bad);
    expect(cli('run', '--weights', join(dir, 'bad.safetensors'), '--heads', '2').stderr).toMatch(/header length 9000 exceeds the file size 16/);
    const header = JSON.stringify({ x: { dtype: 'I16', shape: [2, 4], data_offsets: [0, 16] } });
    const f16 = new Uint8Array(8 + header.length + 16);
    new DataView(f16.buffer).setBigUint64(0, BigInt(header.length), true);
    f16.set(new TextEncoder().encode(header), 8);
    writeFileSync(join(dir, 'i16.safetensors'), f16);
    expect(cli('run', '--input', join(dir, 'i16.safetensors'), '--d-model', '4', '--heads', '2', '--d-head', '2').stderr).toMatch(/'x' has dtype I16, expected F32, F16 or BF16/);
  });

  it('a run over the floor bound but under the limit at the rate measured here runs, priced by the probe and saying so', () => {
    // One run (it computes 13 GFLOP): the check as --json reports it, and the note the text mode prints from it.
    const r = cli('run', '--d-model', '2048', '--heads', '16', '--d-head', '128', '--seq', '400', '--layers', '1', '--verify', 'none', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    if (j.adapter.isSoftware) {
      expect(j.slowRunCheck).toMatchObject({ checked: true, by: 'probe', refused: false, source: 'measured here: probe d_model 512, 4 heads × 128, 16 tokens' });
      expect(j.slowRunCheck.seconds).toBeLessThan(600);
      expect(j.slowRunCheck.probeMs).toBeGreaterThan(0);
      expect(slowRunNote(j.slowRunCheck)).toMatch(/^software adapter: about [\d.]+ s at [\d.]+ [GM]FLOP\/s \(measured here: probe d_model 512, 4 heads × 128, 16 tokens\) and its weights at [\d.]+ [GM]?\/s; under the 10 min allowed$/);
    } else expect(j.slowRunCheck).toBeNull();
  });

  it('the GPT-3 preset: refused on a software adapter without --force, with an estimate; on a GPU, not refused, and one full-width layer verifies', () => {
    const info = JSON.parse(cli('info', '--json').stdout);
    if (info.adapter.isSoftware) {
      const r = cli('run', '--preset', 'gpt3');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/software adapter: this configuration would take about [\d.]+ h at [\d.]+ [GM]FLOP\/s \(measured here: probe d_model 512, 4 heads × 128, 16 tokens\)/);
      expect(r.stderr).toMatch(/--force/);
      // --json: the same refusal, and how it was priced; its seconds are the library's estimate at the rates it names.
      const j = cli('run', '--preset', 'gpt3', '--json');
      expect(j.status).toBe(1);
      const e = JSON.parse(j.stdout);
      expect(e).toMatchObject({ status: 'error', exitCode: 1, slowRunCheck: { checked: true, by: 'probe', refused: true, limitSeconds: 600 } });
      const { flopsPerS, weightsPerS, seconds, probeMs } = e.slowRunCheck;
      expect(probeMs).toBeGreaterThan(0);
      const gpt3 = resolveConfig({}, GPT3);
      expect(seconds).toBeCloseTo(estimateSeconds({ samples: [{ width: 512 * 512, dModel: 512, flopsPerS, from: 'probe' }], weightsPerS, error: null }, gpt3)!, 3);
      expect(e.error).toContain(`about ${formatSeconds(seconds)} at ${formatRate(flopsPerS)} (measured here: probe d_model 512`);
      // --decode goes through the same refusal (its prefill priced).
      const d = JSON.parse(cli('run', '--preset', 'gpt3', '--seq', '256', '--decode', '2', '--json').stdout);
      expect(d).toMatchObject({ status: 'error', slowRunCheck: { by: 'probe', refused: true } });
    } else {
      // The whole preset (96 layers) is the benchmark's job (scripts/device-check.sh); here one layer of
      // it, at GPT-3's widths and full 2048-token sequence, in seconds: planned, run and checked (sampled).
      const r = json('run', '--preset', 'gpt3', '--layers', '1', '--no-tune', '--verify', 'sampled');
      expect(r.config).toMatchObject({ layers: 1, heads: 96, dModel: 12288, dHead: 128, seq: 2048 });
      expect(r.verification.mode).toBe('sampled');
      expect(r.verification.passed).toBe(true);
      expect(r.timings.perLayerMs).toHaveLength(1);
    }
  });
});

describe('webgpu-attention params and info', () => {
  it('GPT-3 has 57,982,058,496 attention parameters', () => {
    const r = cli('params', '--preset', 'gpt3');
    expect(r.stdout).toContain('57,982,058,496');
    expect(r.stdout).toContain('1,572,864');
    const j = JSON.parse(cli('params', '--preset', 'gpt3', '--json').stdout);
    expect(j.parameters.total).toBe(4 * 12288 * 128 * 96 * 96);
  });
  it('info names the adapter and its limits', () => {
    const j = JSON.parse(cli('info', '--json').stdout);
    expect(j.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(Array.isArray(j.features)).toBe(true);
    // The matmul config runs start from: on lavapipe (subgroups of 8) the shuffle kernel.
    expect(typeof j.matmulDefault.tile).toBe('string');
    if (j.adapter.isSoftware && j.subgroupSizes?.min >= 8) expect(j.matmulDefault.tile).toBe('16x16 shuffle sg8');
  });
});
