// @module-tag slow (the device check end to end): `npm test` runs it, `npm run test:fast` does not.
// scripts/device-check.sh --dry-run: every step of the GPU machine's run (info, the tune scripts, the benchmark in
// fp32 and f16 beside its peers, the GPT-3 preset) end to end on this machine's adapter with the shapes scaled
// down, from bundles built the way scripts/build-gpu.mjs builds .gpu/'s; every output file written and parsed.
// The script bundles what it runs itself (scripts/device-check-bundles.mjs), so nothing here depends on dist/.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDeviceCheck } from '../../scripts/device-check-bundles.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = join(root, 'scripts/device-check.sh');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function deviceCheck(args: string[], env: Record<string, string>, timeoutMs: number, path = script): Promise<Result> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile('bash', [path, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

const json = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));

interface BenchRow {
  suite: string;
  name: string;
  impl: string;
  precision: string;
  verified: boolean;
  status: string;
}

describe('device-check.sh', () => {
  it('refuses an unknown argument and prints its usage with --help', async () => {
    const bad = await deviceCheck(['--dry-rum'], {}, 10_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown argument '--dry-rum'");
    const help = await deviceCheck(['--help'], {}, 10_000);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dry-run');
  });

  it('keeps the real shapes outside the dry run', () => {
    // The flags of the GPU machine's run (the else branch): nothing scaled down may leak into it.
    const text = readFileSync(script, 'utf8');
    const real = text.slice(text.indexOf('t_info=60 t_mtune=150'), text.indexOf('\nfi', text.indexOf('t_info=60 t_mtune=150')));
    expect(real).toContain('mtune_flags=(--shapes 8192,proj,qk,pv');
    expect(real).toContain('gpt3_flags=(--preset gpt3 --verify sampled --verify-layers 4)');
    expect(real).not.toMatch(/--quick|--layers|--seq|--d-model|--heads|--d-head/);
  });

  it('fails when a step fails (here: no adapter for info)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wa-device-check-fail-'));
    try {
      const r = await deviceCheck(['--dry-run', 'info'], { OUT: out, VK_ICD_FILENAMES: join(out, 'no-such-icd.json'), VK_DRIVER_FILES: join(out, 'no-such-icd.json') }, 60_000);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(readFileSync(join(out, 'steps.tsv'), 'utf8')).toMatch(/^info\t1\t/);
      expect(json(out, 'info.json').status).toBe('error');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('the real run starts with info, unasked, and stops there on a software adapter (no GPU driver found)', async (t) => {
    // A copy of the tree's layout: the script, and a .gpu/ with the bundles and an env.sh that changes nothing.
    const tree = mkdtempSync(join(tmpdir(), 'wa-device-check-real-'));
    try {
      mkdirSync(join(tree, 'scripts'));
      copyFileSync(script, join(tree, 'scripts/device-check.sh'));
      await bundleDeviceCheck(join(tree, '.gpu'));
      writeFileSync(join(tree, '.gpu/env.sh'), 'true\n');
      const r = await deviceCheck(['gpt3'], { OUT: join(tree, 'out') }, 60_000, join(tree, 'scripts/device-check.sh'));
      // On a GPU the script goes on past info: this case is about software adapters only (skipped with the reason there).
      t.skip(!json(join(tree, 'out'), 'info.json').adapter.isSoftware, 'the adapter here is a GPU: the script does not stop at info');
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain('the adapter is a software one');
      expect(readFileSync(join(tree, 'out/steps.tsv'), 'utf8')).toMatch(/^info\t3\t\d+\n$/);
      expect(existsSync(join(tree, 'out/gpt3.json'))).toBe(false);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  describe('--dry-run, every step', () => {
    let out: string;
    let run: Result;
    beforeAll(async () => {
      out = mkdtempSync(join(tmpdir(), 'wa-device-check-'));
      run = await deviceCheck(['--dry-run'], { OUT: out }, 290_000);
    }, 300_000);
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('exits 0 with every step ok, in well under the device tool budget', () => {
      expect(run.code, `${run.stdout}\n${run.stderr}`.slice(-4000)).toBe(0);
      const steps = readFileSync(join(out, 'steps.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
      expect(steps.map(([name, rc]) => `${name} ${rc}`)).toEqual(['info 0', 'matmul-tune 0', 'attention-tune 0', 'bench 0', 'bench-f16 0', 'decode 0', 'gpt3 0']);
      expect(run.stdout).toContain('== done: info tune bench bench-f16 gpt3 decode ok');
      console.log(`device-check --dry-run: ${run.seconds.toFixed(1)} s (${steps.map(([n, , s]) => `${n} ${s} s`).join(', ')})`);
    });

    it('info.json names the adapter', () => {
      const info = json(out, 'info.json');
      expect(typeof info.adapter?.name).toBe('string');
      expect(info.adapter.name.length).toBeGreaterThan(0);
    });

    it('the tune scripts wrote checked rows, and the engine its timing choices', () => {
      const matmul = json(out, 'matmul-tune.json');
      expect(matmul.rows.length).toBeGreaterThan(0);
      expect(matmul.rows.some((r: { shape: string; check: { passed: boolean } | null }) => r.shape === '256³' && r.check?.passed)).toBe(true);
      const attention = json(out, 'attention-tune.json');
      expect(attention.rows.some((r: { variant: string; verified: boolean }) => r.variant.startsWith('materialized') && r.verified)).toBe(true);
      expect(attention.rows.some((r: { variant: string; verified: boolean }) => r.variant.startsWith('fused') && r.verified)).toBe(true);
      expect(existsSync(join(out, 'tune', 'matmul-tiles.json'))).toBe(true);
      expect(existsSync(join(out, 'tune', 'attention-cores.json'))).toBe(true);
    });

    for (const [file, precision] of [['bench.json', 'f32'], ['bench-f16.json', 'f16']] as const) {
      it(`${file}: our ${precision} rows of every suite verified, beside the peers`, () => {
        const rows = json(out, file) as BenchRow[];
        expect(new Set(rows.map((r) => r.precision))).toEqual(new Set(precision === 'f32' ? ['f32', 'f64'] : ['f16']));
        const ours = rows.filter((r) => r.impl === 'webgpu-attention');
        const available = ours.filter((r) => r.status !== 'not available');
        // Our f16 rows may be "not available" only where the adapter lacks shader-f16; lavapipe has it.
        expect(available.length).toBeGreaterThan(0);
        expect(available.filter((r) => !r.verified).map((r) => `${r.suite}/${r.name}`)).toEqual([]);
        expect(new Set(available.map((r) => r.suite))).toEqual(new Set(['matmul', 'softmax', 'weighted', 'attention', 'layer']));
        expect(available.map((r) => r.name)).toEqual(expect.arrayContaining(['core causal', 'core causal, fused', 'one layer', 'one layer, fused']));
        for (const peer of ['tfjs-webgpu', 'onnxruntime-webgpu', 'jax-js-webgpu']) expect(rows.some((r) => r.impl === peer), peer).toBe(true);
      });
    }

    it('decode.json: our decode step verified in f32 and f16 at every length, beside the peers', () => {
      const rows = json(out, 'decode.json') as (BenchRow & { shape: string; gbps: number | null })[];
      const ours = rows.filter((r) => r.impl === 'webgpu-attention');
      expect(ours.map((r) => `${r.shape} ${r.precision} ${r.verified}`)).toEqual(['8h n_kv=512 d=64 f32 true', '8h n_kv=512 d=64 f16 true', '8h n_kv=2048 d=64 f32 true', '8h n_kv=2048 d=64 f16 true']);
      expect(ours.every((r) => r.suite === 'decode' && (r.gbps ?? 0) > 0)).toBe(true);
      for (const peer of ['tfjs-webgpu', 'onnxruntime-webgpu', 'jax-js-webgpu']) expect(rows.some((r) => r.impl === peer && r.suite === 'decode'), peer).toBe(true);
    });

    it('gpt3.json: the preset, scaled down, passed its sampled verification', () => {
      const gpt3 = json(out, 'gpt3.json');
      expect(gpt3.status).toBe('passed');
      expect(gpt3.verification.mode).toBe('sampled');
      expect(gpt3.verification.passed).toBe(true);
      expect(gpt3.config).toMatchObject({ layers: 2, seq: 16, dModel: 256, heads: 4, dHead: 64, norm: 'layernorm' });
      expect(gpt3.layersRun).toBe(2);
    });
  });
});
