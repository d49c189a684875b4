// Weights from a file whose matrices exceed the software adapter's storage binding
// (d_model 6144: 144 MiB per matrix against lavapipe's 128 MiB) are bound in row chunks and
// still give the CPU reference's result.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAll, root } from '../../scripts/build.mjs';
import { serializeSafetensors, weightName } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { resolveConfig } from '../../src/model/config.js';
import { attentionStack } from '../../src/reference/attention.js';
import { compare, FP32_TOLERANCE } from '../../src/verify/compare.js';

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

describe('weights larger than a storage binding', () => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  let s = seed;
  const rand = (n: number, scale: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
    }
    return a;
  };
  const w = { q: rand(D * D, 1 / Math.sqrt(D)), k: rand(D * D, 1 / Math.sqrt(D)), v: rand(D * D, 1 / Math.sqrt(D)), o: rand(D * D, 1 / Math.sqrt(D)) };
  const x = rand(SEQ * D, 1);
  beforeAll(async () => {
    await buildAll();
    writeLarge(join(dir, 'w.safetensors'), { [weightName(0, 'q')]: w.q, [weightName(0, 'k')]: w.k, [weightName(0, 'v')]: w.v, [weightName(0, 'o')]: w.o }, [D, D]);
    const bytes = serializeSafetensors({ x: { shape: [SEQ, D], data: x } });
    const fd = openSync(join(dir, 'x.safetensors'), 'w');
    writeSync(fd, bytes);
    closeSync(fd);
  });

  it(`d_model ${D}: 144 MiB per matrix, chunked, matches the CPU reference (seed ${seed})`, () => {
    const r = spawnSync(process.execPath, [join(root, 'dist/cli.mjs'), 'run', '--weights', join(dir, 'w.safetensors'), '--input', join(dir, 'x.safetensors'),
      '--heads', String(HEADS), '--verify', 'none', '--output', join(dir, 'y.safetensors'), '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const info = JSON.parse(spawnSync(process.execPath, [join(root, 'dist/cli.mjs'), 'info', '--json'], { encoding: 'utf8' }).stdout);
    if (info.limits.maxStorageBufferBindingSize < D * D * 4) expect(report.plan.qkvChunkRows).toBeLessThan(D);
    const y = new SafetensorsFile(join(dir, 'y.safetensors')).read('y', [SEQ, D]);
    const cfg = resolveConfig({ layers: 1, heads: HEADS, dHead: D_HEAD, dModel: D, seq: SEQ });
    const ref = attentionStack(x, null, () => w, cfg);
    const c = compare(y, ref, FP32_TOLERANCE);
    expect(c.passed, `max abs error ${c.maxAbsError} at ${c.worstIndex}`).toBe(true);
  });
});
