// Weights from a file whose matrices exceed a storage binding are bound in row chunks and still
// give the CPU reference's result (every layer within the one judge's allowance: test/helpers/stack-judge.ts). On every adapter: the engine with its binding limit forced down
// (RunOptions.limits, as the engine tests do), so a small file is chunked wherever this runs. Then
// through the command at a real size (d_model 6144: 144 MiB per matrix), chunked exactly where the
// adapter's own binding is smaller (lavapipe's 128 MiB) and whole where it is not.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { serializeSafetensors, weightName } from '../../src/io/safetensors.js';
import { inputsFromFile, SafetensorsFile, weightsFromFile } from '../../src/node/safetensors-file.js';
import { resolveConfig } from '../../src/model/config.js';
import { freshSeed, rng, uniformArray, useEngine } from '../helpers/gpu.js';
import { checkLayer } from '../../src/verify/exact.js';
import { runJudged } from '../helpers/stack-judge.js';

const D = 6144, HEADS = 48, D_HEAD = 128, SEQ = 4;
const dir = mkdtempSync(join(tmpdir(), 'wa-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a safetensors file tensor by tensor, so 576 MiB of weights are never one JS buffer. */
function writeLarge(path: string, tensors: Record<string, Float32Array>, shape: number[]) {
  const names = Object.keys(tensors);
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const n of names) {
    header[n] = { dtype: 'F32', shape, data_offsets: [offset, offset + tensors[n]!.byteLength] };
    offset += tensors[n]!.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  const fd = openSync(path, 'w');
  writeSync(fd, prefix);
  writeSync(fd, new TextEncoder().encode(json));
  for (const n of names) writeSync(fd, new Uint8Array(tensors[n]!.buffer));
  closeSync(fd);
}

/** Uniform values in ±scale from the seed helpers' generator. */
function generator(seed: number): (n: number, scale: number) => Float32Array {
  const rand = rng(seed);
  return (n, scale) => uniformArray(rand, n, scale);
}

describe('weights from a file over a forced 256 KiB binding, on any adapter', () => {
  const engine = useEngine();
  // d_model 384, 4 heads of 128: W_Q/W_K/W_V [512, 384] and W_O [384, 512] are 768 KiB each, three
  // times the forced binding; two layers, so the second is streamed from the file after the first.
  const cfg = resolveConfig({ layers: 2, heads: 4, dHead: 128, dModel: 384, seq: 6 });
  const BINDING = 256 * 1024;
  const seed = freshSeed();
  const rand = generator(seed);
  const inner = cfg.heads * cfg.dHead;
  const layers = Array.from({ length: cfg.layers }, () => ({
    q: rand(inner * cfg.dModel, 1 / Math.sqrt(cfg.dModel)), k: rand(inner * cfg.dModel, 1 / Math.sqrt(cfg.dModel)),
    v: rand(inner * cfg.dModel, 1 / Math.sqrt(cfg.dModel)), o: rand(cfg.dModel * inner, 1 / Math.sqrt(inner)),
  }));
  const x = rand(cfg.seq * cfg.dModel, 1);
  const weightsPath = join(dir, 'small-w.safetensors');
  const inputPath = join(dir, 'small-x.safetensors');
  beforeAll(() => {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    layers.forEach((w, l) => {
      for (const p of ['q', 'k', 'v'] as const) tensors[weightName(l, p)] = { shape: [inner, cfg.dModel], data: w[p] };
      tensors[weightName(l, 'o')] = { shape: [cfg.dModel, inner], data: w.o };
    });
    const fd = openSync(weightsPath, 'w');
    writeSync(fd, serializeSafetensors(tensors));
    closeSync(fd);
    const fx = openSync(inputPath, 'w');
    writeSync(fx, serializeSafetensors({ x: { shape: [cfg.seq, cfg.dModel], data: x } }));
    closeSync(fx);
  });

  for (const attention of ['materialized', 'fused'] as const) {
    it(`${attention} core: every weight bound in row chunks, matches the CPU reference (seed ${seed})`, async () => {
      const r = await runJudged(engine(), cfg, {
        seed,
        weights: weightsFromFile(new SafetensorsFile(weightsPath), cfg),
        inputs: inputsFromFile(new SafetensorsFile(inputPath), cfg),
        limits: { maxStorageBufferBindingSize: BINDING },
        attention,
      }, { weights: { kind: 'tensors', layer: (l) => layers[l]! }, inputs: { x, context: null } });
      expect(r.plan.attention).toBe(attention);
      // Rows of 384 (or 512) floats under 256 KiB, a multiple of the offset alignment's step.
      expect(r.plan.qkvChunkRows).toBeLessThan(inner);
      expect(r.plan.qkvChunkRows * cfg.dModel * 4).toBeLessThanOrEqual(BINDING);
      expect(r.plan.outputChunkRows).toBeLessThan(cfg.dModel);
      expect(r.plan.outputChunkRows * inner * 4).toBeLessThanOrEqual(BINDING);
      expect(r.layersRun).toBe(cfg.layers);
    });
  }
});

// The slow tier's (576 MiB of weights written and read back): the data is made in beforeAll, which a run that filters
// the test out (npm run test:fast) never reaches.
describe('weights larger than the adapter\'s own binding, through the command', { tags: ['slow'] }, () => {
  const seed = freshSeed();
  let w: Record<'q' | 'k' | 'v' | 'o', Float32Array>;
  let x: Float32Array;
  beforeAll(() => {
    const rand = generator(seed);
    w = { q: rand(D * D, 1 / Math.sqrt(D)), k: rand(D * D, 1 / Math.sqrt(D)), v: rand(D * D, 1 / Math.sqrt(D)), o: rand(D * D, 1 / Math.sqrt(D)) };
    x = rand(SEQ * D, 1);
    writeLarge(join(dir, 'w.safetensors'), { [weightName(0, 'q')]: w.q, [weightName(0, 'k')]: w.k, [weightName(0, 'v')]: w.v, [weightName(0, 'o')]: w.o }, [D, D]);
    const bytes = serializeSafetensors({ x: { shape: [SEQ, D], data: x } });
    const fd = openSync(join(dir, 'x.safetensors'), 'w');
    writeSync(fd, bytes);
    closeSync(fd);
  });

  it(`d_model ${D}: 144 MiB per matrix, chunked where the binding is smaller, matches the CPU reference (seed ${seed})`, () => {
    const r = runCli(['run', '--weights', join(dir, 'w.safetensors'), '--input', join(dir, 'x.safetensors'),
      '--heads', String(HEADS), '--verify', 'none', '--output', join(dir, 'y.safetensors'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const info = JSON.parse(runCli(['info', '--json']).stdout);
    const chunked = info.limits.maxStorageBufferBindingSize < D * D * 4;
    expect(report.plan.qkvChunkRows < D, `binding ${info.limits.maxStorageBufferBindingSize} B, ${report.plan.qkvChunkRows} rows per chunk`).toBe(chunked);
    expect(report.plan.outputChunkRows < D).toBe(chunked);
    const y = new SafetensorsFile(join(dir, 'y.safetensors')).read('y', [SEQ, D]);
    const cfg = resolveConfig({ layers: 1, heads: HEADS, dHead: D_HEAD, dModel: D, seq: SEQ });
    // One layer from the given x: the one judge's exact check of it (λ·e, src/verify/exact.ts checkLayer).
    const check = checkLayer(cfg, 0, w, null, x, y);
    expect(check.passed, `seed ${seed}: ${check.detail}`).toBe(true);
  });
});
