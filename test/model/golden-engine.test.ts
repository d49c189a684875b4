// The engine against the outside oracle (the golden cases, computed by numpy; test/helpers/golden.ts): weights and
// inputs are read from the cases' safetensors files through the same path as `--weights` and
// `--input`. A missing folder fails rather than skips.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { useEngine } from '../helpers/gpu.js';
import { resolveConfig } from '../../src/model/config.js';
import { inputsFromFile, SafetensorsFile, weightsFromFile } from '../../src/node/safetensors-file.js';
import { compare } from '../../src/verify/compare.js';

const engine = useEngine();

interface GoldenCase { name: string; seq: number; dModel: number; heads: number; dHead: number; layers: number; mask: boolean; cross: boolean; contextSeq: number | null }

const casesPath = join(GOLDEN_DIR, 'cases.json');
const cases: GoldenCase[] = existsSync(casesPath) ? JSON.parse(readFileSync(casesPath, 'utf8')) : [];

describe('engine vs golden cases', () => {
  it('finds the golden cases', () => {
    expect(existsSync(casesPath), `golden cases not found at ${casesPath} (test/golden is committed with the project)`).toBe(true);
    expect(cases.length).toBeGreaterThan(0);
  });
  for (const c of cases) {
    for (const attention of ['materialized', 'fused'] as const) it(`${c.name} (${attention} attention)`, async () => {
      const cfg = resolveConfig({
        layers: c.layers, heads: c.heads, dModel: c.dModel, dHead: c.dHead, seq: c.seq,
        mask: c.mask, cross: c.cross, kvSeq: c.contextSeq ?? c.seq,
      });
      const weightsFile = new SafetensorsFile(join(GOLDEN_DIR, `${c.name}.weights.safetensors`));
      const inputFile = new SafetensorsFile(join(GOLDEN_DIR, `${c.name}.input.safetensors`));
      const expectedFile = new SafetensorsFile(join(GOLDEN_DIR, `${c.name}.expected.safetensors`));
      try {
        const r = await engine().run(cfg, { weights: weightsFromFile(weightsFile, cfg), inputs: inputsFromFile(inputFile, cfg), attention });
        expect(r.plan.attention).toBe(attention);
        const expected = expectedFile.read('y', [c.seq, c.dModel]);
        // fp32 GPU arithmetic against float64 rounded to f32: the fp32 tolerance of the golden README (1e-5 relative).
        const cmp = compare(r.output, expected, { atol: 1e-5, rtol: 1e-4 });
        expect(cmp.passed, `max abs error ${cmp.maxAbsError} at ${cmp.worstIndex}`).toBe(true);
      } finally {
        weightsFile.close();
        inputFile.close();
        expectedFile.close();
      }
    });
  }
});
