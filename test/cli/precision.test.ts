// Half precision from the command line: --precision f16 runs verify, report their distance from
// the same stack in f32 as a separate figure, write F16 outputs on request; F16 and BF16
// checkpoints load (widened exactly) and verify; params reports bytes per precision.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { f16Bits } from '../../src/io/half.js';
import { parseSafetensorsHeader, weightName } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';
import { resolveConfig } from '../../src/model/config.js';
import { seededLayerWeights } from '../../src/reference/attention.js';

const dir = mkdtempSync(join(tmpdir(), 'wa-precision-'));
const SHAPE = ['--layers', '2', '--heads', '4', '--d-model', '128', '--d-head', '32', '--seq', '17'];

/** A weights file with every tensor in `dtype` (16-bit dtypes written by hand: the writer emits F32 and F16). */
function weightsFile(dtype: 'F16' | 'BF16'): string {
  const cfg = resolveConfig({ layers: 2, heads: 4, dModel: 128, dHead: 32, seq: 17, norm: 'layernorm' });
  const entries: [string, number[], Float32Array][] = [];
  for (let l = 0; l < 2; l++) {
    const w = seededLayerWeights(3, l, cfg);
    for (const p of ['q', 'k', 'v', 'o'] as const) entries.push([weightName(l, p), [128, 128], w[p]]);
    entries.push([`layers.${l}.input_layernorm.weight`, [128], w.lnGain!], [`layers.${l}.input_layernorm.bias`, [128], w.lnBias!]);
  }
  const bits = (v: number) => {
    if (dtype === 'F16') return f16Bits(v);
    const u = new Uint32Array(Float32Array.of(v).buffer)[0]!;
    return (u + 0x7fff + ((u >> 16) & 1)) >>> 16; // f32 to BF16, round to nearest even
  };
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape, data] of entries) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + 2 * data.length] };
    offset += 2 * data.length;
  }
  let text = JSON.stringify(header);
  while (text.length % 8) text += ' ';
  const out = new Uint8Array(8 + text.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(text.length), true);
  out.set(new TextEncoder().encode(text), 8);
  let at = 8 + text.length;
  for (const [, , data] of entries) for (const v of data) { view.setUint16(at, bits(v), true); at += 2; }
  const path = join(dir, `w-${dtype}.safetensors`);
  writeFileSync(path, out);
  parseSafetensorsHeader(out); // the strict reader accepts it
  return path;
}


describe('--precision f16', () => {
  it('verifies, reports the precision loss apart from the verdict, and writes an F16 output on request', () => {
    const out = join(dir, 'y16.safetensors');
    const r = cli('run', ...SHAPE, '--norm', 'layernorm', '--precision', 'f16', '--verify', 'exact', '--output', out, '--output-dtype', 'f16', '--json');
    expect(r.status, r.stderr.slice(-1500)).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.config.precision).toBe('f16');
    expect(j.verification.passed).toBe(true);
    expect(j.precisionLoss.maxRelativeToRms).toBeGreaterThan(0); // f16 does lose something…
    expect(j.precisionLoss.maxRelativeToRms).toBeLessThan(2e-2); // …of the order of 2⁻¹¹ per store
    const file = new SafetensorsFile(out);
    expect(file.parsed.tensors.get('y')!.dtype).toBe('F16');
    expect(file.parsed.metadata['webgpu-attention.precision']).toBe('f16');
    expect(file.read('y', [17, 128]).length).toBe(17 * 128);
  });

  it('f32 runs report no precision loss; a bad --precision or --output-dtype is refused by name', () => {
    const j = JSON.parse(cli('run', ...SHAPE, '--json').stdout);
    expect(j.config.precision).toBe('f32');
    expect(j.precisionLoss).toBeNull();
    expect(cli('run', ...SHAPE, '--precision', 'f8').stderr).toMatch(/--precision must be f32 or f16, got 'f8'/);
    expect(cli('run', ...SHAPE, '--output-dtype', 'bf16').stderr).toMatch(/--output-dtype must be f32 or f16, got 'bf16'/);
  });
});

describe('F16 and BF16 checkpoints', () => {
  it.each(['F16', 'BF16'] as const)('%s weights load (widened exactly) and verify in f32 and in f16', (dtype) => {
    const weights = weightsFile(dtype);
    for (const precision of ['f32', 'f16']) {
      const r = cli('run', '--weights', weights, '--heads', '4', '--seq', '17', '--precision', precision, '--verify', 'exact', '--json');
      expect(r.status, r.stderr.slice(-1500)).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.config).toMatchObject({ layers: 2, dModel: 128, dHead: 32, norm: 'layernorm', precision });
      expect(j.verification.passed).toBe(true);
    }
  });
});

describe('params', () => {
  it('reports bytes per precision: f16 halves the weights', () => {
    const j = JSON.parse(cli('params', '--preset', 'gpt3', '--json').stdout);
    const b = j.forward.bytesPerPrecision;
    expect(b.f16.weightsTotal * 2).toBe(b.f32.weightsTotal);
    expect(b.f32.weightsTotal).toBe(4 * 57_982_058_496);
  });
});
