// issue 21, items 4, 5, 7 and 8, as a user meets them: sizes refused in numbers before anything
// is allocated, a NaN in a later layer refused before the GPU starts, a failed stdout reported
// with its exit status, files blamed for their own faults, and the command's JSON and exit
// statuses on every path.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliShell, spawnCli } from '../helpers/cli.js';
import { serializeSafetensors, weightName } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { createHash } from 'node:crypto';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { cli, freshDir, writeInput, writeWeights } from './run-files-safety.js';


const SMALL = ['run', '--layers', '1', '--heads', '2', '--d-model', '16', '--d-head', '8', '--seq', '3', '--no-tune'];

/** The command under `ulimit -v` (KiB): a run that allocated its seeded inputs first would die. */
function cliLimited(args: string[], kib: number) {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  return runCliShell(`ulimit -v ${kib}; cli ${quoted}`, { timeoutMs: 60_000 });
}

describe('sizes checked in numbers before any allocation', () => {
  it('--d-model 100000 --seq 100000 --max-seq 100000: refused naming the flags and the limit, before the adapter starts', () => {
    for (const json of [false, true]) {
      const r = cliLimited(['run', '--d-model', '100000', '--seq', '100000', '--max-seq', '100000', ...(json ? ['--json'] : [])], 2_000_000);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/--seq 100000 × --d-model 100000: x \[seq, d_model\] would hold 10,000,000,000 values, over the 4,294,967,295 a WebGPU binding can index \(u32\)/);
      expect(r.stderr).not.toMatch(/Invalid typed array length|adapter:/);
      if (json) expect(JSON.parse(r.stdout).status).toBe('error');
    }
  });

  it('32768 × 32768 (4 GiB of seeded input): refused by the plan before the inputs are built (under a 2 GB address-space limit)', () => {
    const r = cliLimited(['run', '--d-model', '32768', '--seq', '32768', '--max-seq', '32768', '--heads', '256', '--d-head', '128'], 2_000_000);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/x \(residual stream\) \[seq, dModel\] needs 4\.00 GiB, over the adapter's maxStorageBufferBindingSize/);
    // The same limit lets an ordinary run through: the refusal is not the limit's doing.
    expect(cliLimited(SMALL, 2_000_000).status).toBe(0);
  });
});

describe('weights scanned before the GPU starts', () => {
  it('a NaN or Inf in the last layer is refused naming the tensor and index, before any layer runs', () => {
    const dir = freshDir();
    for (const [bad, shown] of [[Number.NaN, 'NaN'], [Number.POSITIVE_INFINITY, 'Infinity']] as const) {
      writeWeights(join(dir, 'w.safetensors'), { layers: 3, edit: (t) => { t[weightName(2, 'v')]!.data[17] = bad; } });
      const r = cli(['run', '--heads', '2', '--weights', join(dir, 'w.safetensors'), '--seq', '4', '--no-tune']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`tensor 'layers.2.self_attn.v_proj.weight' has a non-finite value ${shown} at index 17`);
      expect(r.stderr).not.toMatch(/layer 1\/3|adapter:/);
    }
    // --layers 2 does not read layer 2: the run goes ahead.
    expect(cli(['run', '--heads', '2', '--weights', join(dir, 'w.safetensors'), '--seq', '4', '--layers', '2', '--no-tune']).status).toBe(0);
  });
});

describe('a failed stdout', () => {
  it.each([[[]], [['--json']]])('> /dev/full %j: one line on stderr, exit 4, no stack trace', (extra) => {
    const fd = openSync('/dev/full', 'w');
    const r = cli([...SMALL, ...extra], { stdout: fd });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/^error: could not write the report to stdout: no space left on the device \(ENOSPC\); it is lost \(the command's own status was 0; exiting 4\)$/m);
    expect(r.stderr).not.toMatch(/\n\s+at |node:events|Unhandled/);
  });

  it('a reader that closes early (EPIPE): exit 4, said on stderr', async () => {
    const p = spawnCli(['params', '--preset', 'gpt3']);
    p.stdout.destroy();
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => p.on('close', resolve));
    expect(code).toBe(4);
    expect(stderr).toMatch(/could not write the report to stdout: the reading end was closed \(EPIPE\)/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('files blamed for their own faults', () => {
  it('a zero-size q_proj is reported as the tensor, not as --d-head', () => {
    const dir = freshDir();
    writeWeights(join(dir, 'w.safetensors'), { layers: 1, edit: (t) => { for (const p of ['q', 'k', 'v'] as const) t[weightName(0, p)] = { shape: [0, 16], data: new Float32Array(0) }; t[weightName(0, 'o')] = { shape: [16, 0], data: new Float32Array(0) }; } });
    const r = cli(['run', '--heads', '2', '--weights', join(dir, 'w.safetensors'), '--no-tune']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tensor 'layers\.0\.self_attn\.q_proj\.weight' has shape \[0, 16\]: it holds no values/);
    expect(r.stderr).not.toMatch(/--d-head|--heads must/);
    writeFileSync(join(dir, 'x0.safetensors'), serializeSafetensors({ x: { shape: [0, 16], data: new Float32Array(0) } }));
    const x = cli(['run', '--heads', '2', '--d-head', '8', '--input', join(dir, 'x0.safetensors'), '--no-tune']);
    expect(x.status).toBe(1);
    expect(x.stderr).toMatch(/tensor 'x' has shape \[0, 16\]: it holds no values/);
    expect(x.stderr).not.toMatch(/--seq must/);
  });

  it('a transposed q_proj is blamed on q_proj', () => {
    const dir = freshDir();
    writeWeights(join(dir, 'w.safetensors'), { layers: 1, edit: (t) => {
      for (const p of ['q', 'k', 'v'] as const) t[weightName(0, p)] = { shape: [8, 16], data: new Float32Array(128).fill(0.1) };
      t[weightName(0, 'o')] = { shape: [16, 8], data: new Float32Array(128).fill(0.1) };
      t[weightName(0, 'q')] = { shape: [16, 8], data: new Float32Array(128).fill(0.1) };
    } });
    const r = cli(['run', '--heads', '2', '--weights', join(dir, 'w.safetensors'), '--no-tune']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tensor 'layers\.0\.self_attn\.q_proj\.weight' has shape \[16, 8\], expected \[8, 16\] \(transposed\?\) as k_proj\.weight, v_proj\.weight, o_proj\.weight give d_model 16, heads·d_head 8/);
  });
});

describe('flags refused before the adapter starts', () => {
  it.each([
    [['--verify-layers', '0', '--verify', 'sampled'], /--verify-layers must be a positive integer, got '0'/],
    [['--verify-layers', '2'], /--verify-layers applies to --verify sampled only/],
    [['--tune', '--no-tune'], /--no-tune contradicts --tune and --retune/],
    [['--seq', '5', '--seq', '7'], /--seq is given twice \('5', then '7'\): give it once/],
    [['--cross', '--cross'], /--cross is given twice: give it once/],
  ])('%j', (extra, message) => {
    const r = cli(['run', ...extra, '--json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/adapter:|layer 1\//);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', exitCode: 1 });
  });
});

describe('JSON wherever --json is asked, exit statuses from the README', () => {
  it('--json=1 is refused as JSON', () => {
    const r = cli(['run', '--json=1']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ status: 'error', exitCode: 1, error: "Option '--json' does not take an argument" });
  });

  it('run --help --json prints the usage as JSON and exits 0', () => {
    const r = cli(['run', '--help', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ status: 'help', exitCode: 0 });
    expect(j.usage).toMatch(/^webgpu-attention run \[flags\]/);
  });

  it('info --help and params --help print the usage (as JSON with --json), without starting an adapter', () => {
    for (const command of ['info', 'params']) {
      const r = cli([command, '--help', '--json']);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'help', exitCode: 0, usage: expect.stringMatching(/^webgpu-attention: /) });
      expect(cli([command, '-h']).stdout).toMatch(/^webgpu-attention: /);
    }
  });

  it('an unknown command exits 2, with JSON when asked, the name escaped', () => {
    const plain = cli(['frob\x1b[2J']);
    expect(plain.status).toBe(2);
    expect(plain.stderr).toMatch(/^error: unknown command 'frob\\x1b\[2J': the commands are run, info and params/);
    expect(plain.stdout).toBe('');
    const json = cli(['frob', '--json']);
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'error', exitCode: 2, error: expect.stringMatching(/unknown command 'frob'/) });
  });
});

describe("the output's __metadata__ says what it was computed from", () => {
  it('the seed, and the weights and input files: escaped name, size and the SHA-256 of the header', () => {
    const dir = freshDir();
    const wName = 'w\x1b[31m.safetensors';
    writeWeights(join(dir, wName), { layers: 1 });
    writeInput(join(dir, 'x.safetensors'), 4);
    const r = cli(['run', '--heads', '2', '--weights', join(dir, wName), '--input', join(dir, 'x.safetensors'), '--seed', '77', '--no-tune', '--output', join(dir, 'y.safetensors')]);
    expect(r.status, r.stderr).toBe(0);
    const meta = new SafetensorsFile(join(dir, 'y.safetensors')).parsed.metadata;
    const bytes = readFileSync(join(dir, wName));
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    expect(meta['webgpu-attention.seed']).toBe('77');
    expect(meta['webgpu-attention.weights']).toBe('w\\x1b[31m.safetensors');
    expect(meta['webgpu-attention.weights-bytes']).toBe(String(bytes.length));
    expect(meta['webgpu-attention.weights-header-sha256']).toBe(createHash('sha256').update(bytes.subarray(0, headerEnd)).digest('hex'));
    expect(meta['webgpu-attention.input']).toBe('x.safetensors');
    const seeded = cli([...SMALL, '--seed', '5', '--output', join(dir, 's.safetensors')]);
    expect(seeded.status).toBe(0);
    const m2 = new SafetensorsFile(join(dir, 's.safetensors')).parsed.metadata;
    expect(m2).toMatchObject({ 'webgpu-attention.seed': '5', 'webgpu-attention.weights': 'seeded (seed 5)', 'webgpu-attention.input': 'seeded (seed 5)' });
  });
});
