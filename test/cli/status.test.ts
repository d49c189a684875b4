// Honest statuses from the command: nothing says "passed" for what it did not check, a result
// that is not finite fails with exit 3, outputs are written only when they can be trusted (and
// say how they were made), --json is complete on every exit path, piped or not, and SIGINT /
// SIGTERM stop after the current step with the layers that ran, never the planned count.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../../scripts/build.mjs';
import { cli, runCliShell, spawnCli } from '../helpers/cli.js';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { PACKAGE_VERSION } from '../../src/version.js';

const SMALL = ['--layers', '2', '--heads', '4', '--d-model', '256', '--d-head', '64', '--seq', '33'];
const dir = mkdtempSync(join(tmpdir(), 'wa-status-'));

/** x = ±1e30·(0.5 … 1.4): finite inputs whose first layer overflows fp32. */
function overflowInput(seq: number, dModel: number): string {
  const x = Float32Array.from({ length: seq * dModel }, (_, i) => (i % 2 ? 1 : -1) * 1e30 * ((i % 7) / 7 + 0.5));
  const path = join(dir, `overflow-${seq}x${dModel}.safetensors`);
  writeFileSync(path, serializeSafetensors({ x: { shape: [seq, dModel], data: x } }));
  return path;
}

/** Runs the command until its stderr matches `when`, then sends `signal`. */
async function interrupt(args: string[], when: RegExp, signal: NodeJS.Signals) {
  const child = spawnCli(args);
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (!sent && when.test(stderr)) {
      sent = true;
      child.kill(signal);
    }
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, stdout, stderr, sent };
}


describe('statuses', () => {
  it('--verify none says "not verified" and "passed": null, never passed', () => {
    const r = cli('run', ...SMALL, '--verify', 'none');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verification not verified \(none\)/);
    expect(r.stdout).not.toMatch(/passed/);
    const j = JSON.parse(cli('run', ...SMALL, '--verify', 'none', '--json').stdout);
    expect(j.verification.passed).toBeNull();
    expect(j.status).toBe('not-verified');
    expect(j.firstNonFiniteLayer).toBeNull();
  });

  it('an overflowing input fails with exit 3 naming the first non-finite layer, whatever the verify mode, and writes no output', () => {
    const input = overflowInput(33, 256);
    for (const verify of ['none', 'exact', 'sampled']) {
      const out = join(dir, `overflow-${verify}.safetensors`);
      const r = cli('run', '--layers', '3', '--heads', '4', '--d-head', '64', '--input', input, '--verify', verify, '--output', out, '--json');
      expect(r.status, r.stderr).toBe(3);
      const j = JSON.parse(r.stdout);
      expect(j.status).toBe('non-finite');
      expect(j.firstNonFiniteLayer).toBe(0);
      expect(j.message).toMatch(/after layer 0/);
      expect(j.verification.passed).not.toBe(true);
      expect(j.output.written).toBe(false);
      expect(existsSync(out)).toBe(false);
    }
    // --keep-failed-output writes it, and the file says what it is.
    const kept = join(dir, 'overflow-kept.safetensors');
    const r = cli('run', '--layers', '3', '--heads', '4', '--d-head', '64', '--input', input, '--verify', 'none', '--output', kept, '--keep-failed-output');
    expect(r.status).toBe(3);
    const meta = new SafetensorsFile(kept).parsed.metadata;
    expect(meta['webgpu-attention.status']).toBe('non-finite');
    expect(meta['webgpu-attention.finite']).toBe('false');
  });

  it('a passing run writes its output with __metadata__: version, config, adapter, precision, verification and verdict', () => {
    const out = join(dir, 'passed.safetensors');
    const r = cli('run', ...SMALL, '--norm', 'layernorm', '--verify', 'exact', '--output', out);
    expect(r.status, r.stderr).toBe(0);
    const meta = new SafetensorsFile(out).parsed.metadata;
    expect(meta['webgpu-attention.version']).toBe(PACKAGE_VERSION);
    expect(JSON.parse(meta['webgpu-attention.config']!)).toMatchObject({ layers: 2, heads: 4, dModel: 256, norm: 'layernorm' });
    expect(meta['webgpu-attention.adapter']).toBeTruthy();
    expect(meta['webgpu-attention.precision']).toBe('f32');
    expect(meta['webgpu-attention.verify']).toBe('exact');
    expect(meta['webgpu-attention.verdict']).toBe('passed');
    expect(meta['webgpu-attention.partial']).toBe('false');
  });

  it('the package version in outputs is package.json’s', () => {
    expect(PACKAGE_VERSION).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });
});

describe('depth from the command line', () => {
  it('the issue’s 200-layer sampled run passes with correct kernels, and its detection bound is relative', { tags: ['slow'] }, () => {
    const r = cli('run', '--layers', '200', '--heads', '4', '--d-model', '256', '--d-head', '64', '--seq', '128', '--verify', 'sampled', '--verify-layers', '200', '--json');
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verification.passed).toBe(true);
    expect(j.layerChecks).toHaveLength(200);
    // "a single wrong element off by more than X of its row's norm is always caught", X small at every depth.
    const x = Number(/more than ([\d.e+-]+) of its row's norm/.exec(j.verification.detail)![1]);
    expect(x).toBeLessThan(1e-3);
  });

  it('sampled verification checks LN(x) and the projections that read it, self and cross', () => {
    for (const extra of [[], ['--cross', '--context-seq', '20']]) {
      const r = cli('run', ...SMALL, '--norm', 'layernorm', '--verify', 'sampled', ...extra, '--json');
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.verification.passed).toBe(true);
      const names = j.layerChecks[0].checks.map((c: { name: string }) => c.name);
      expect(names).toContain('LN(x)');
      expect(names).toContain('Q = LN(x)·W_Qᵀ');
      expect(names).toContain(extra.length ? 'K = context·W_Kᵀ' : 'K = LN(x)·W_Kᵀ');
    }
  });

  it('96 layers of GPT-3’s pre-LN block pass the exact check from the command line', { tags: ['slow'] }, () => {
    const r = cli('run', '--layers', '96', '--heads', '4', '--d-model', '256', '--d-head', '64', '--seq', '33', '--norm', 'layernorm', '--verify', 'exact', '--json');
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verification.passed).toBe(true);
    expect(j.verification.drift).toHaveLength(96);
  });
});

describe('--json on every exit path', () => {
  it('a failing run piped into a slow reader still delivers its whole JSON (≈190 KB, three pipe buffers)', () => {
    // 64 layers' checks make ≈190 KB: the exit must wait for a reader that starts late and drains a 64 KiB pipe thrice.
    const input = overflowInput(33, 256);
    const args = ['run', '--layers', '64', '--heads', '4', '--d-head', '64', '--input', input, '--verify', 'sampled', '--verify-layers', '64', '--json'];
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const r = runCliShell(`cli ${quoted} 2>/dev/null | (sleep 0.5; cat); echo "exit \${PIPESTATUS[0]}" >&2`);
    expect(r.stderr).toMatch(/exit 3/);
    expect(r.stdout.length).toBeGreaterThan(2.5 * 64 * 1024);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('non-finite');
    expect(j.layerChecks).toHaveLength(64);
  });

  it('an error with --json prints a JSON error object too', () => {
    const r = cli('run', '--heads', '0', '--json');
    expect(r.status).not.toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('error');
    expect(j.error).toMatch(/--heads must be a positive integer/);
  });
});

describe('interrupts', () => {
  const LONG = ['run', '--layers', '400', '--heads', '2', '--d-model', '64', '--d-head', '32', '--seq', '64'];
  it('SIGTERM during the layers: exit 143, "interrupted after layer N of 400", no output file', async () => {
    const out = join(dir, 'term.safetensors');
    const r = await interrupt([...LONG, '--verify', 'none', '--output', out, '--json'], /layer 3\/400/, 'SIGTERM');
    expect(r.sent).toBe(true);
    expect(r.status, r.stderr).toBe(143);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('interrupted');
    expect(j.message).toMatch(/interrupted \(SIGTERM\) after layer \d+ of 400/);
    expect(j.layersRun).toBeLessThan(400);
    expect(existsSync(out)).toBe(false);
  });

  it('SIGINT during the layers with --keep-partial-output: the file says partial and how many layers ran; what ran is verified', async () => {
    const out = join(dir, 'partial.safetensors');
    const r = await interrupt([...LONG, '--verify', 'exact', '--output', out, '--keep-partial-output', '--json'], /layer 3\/400/, 'SIGINT');
    expect(r.status, r.stderr).toBe(130);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('interrupted');
    expect(j.verification.passed).toBe(true); // the layers that ran, checked after the stop
    const meta = new SafetensorsFile(out).parsed.metadata;
    expect(meta['webgpu-attention.partial']).toBe('true');
    expect(meta['webgpu-attention.layers-run']).toBe(`${j.layersRun} of 400`);
  });

  it('a second SIGINT quits at once, and --json still ends with one JSON object saying so', async () => {
    const child = spawnCli([...LONG, '--verify', 'exact', '--json']);
    let stdout = '';
    let stderr = '';
    let sent = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (sent === 0 && /layer 3\/400/.test(stderr)) { sent = 1; child.kill('SIGINT'); }
      else if (sent === 1 && /stopping after the current step/.test(stderr)) { sent = 2; child.kill('SIGINT'); }
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status, stderr).toBe(130);
    const j = JSON.parse(stdout);
    expect(j.status).toBe('interrupted');
  });

  it('SIGINT during the verification stops it: exit 130, verdict null (not every layer was checked)', async () => {
    const r = await interrupt(['run', '--layers', '64', '--heads', '4', '--d-model', '256', '--d-head', '64', '--seq', '33', '--verify', 'exact', '--json'],
      /verifying 64 layer\(s\), exact/, 'SIGINT');
    expect(r.status, r.stderr).toBe(130);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('interrupted');
    expect(j.layersRun).toBe(64);
    expect(j.verification.passed).toBeNull();
    expect(j.verification.detail).toMatch(/interrupted after checking \d+ of 64 layer/);
  });
});
