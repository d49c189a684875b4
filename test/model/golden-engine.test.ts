// The engine against the outside oracle (the golden cases, computed by numpy; test/helpers/golden.ts): weights and
// inputs are read from the cases' safetensors files through the same path as `--weights` and `--input`. Decided by
// the one judge: every layer of the GPU's run within λ·e of its float64 recomputation from the GPU's own input
// (runJudged), and the float64 reference matches numpy layer by layer (test/reference/golden.test.ts), so together
// the engine matches the oracle layer by layer. The first layer, whose input both sides are given, is also compared
// with numpy's directly: within λ·e plus the oracle's allowance (test/helpers/oracle.ts, gpuAgainstOracle).
// A missing folder fails rather than skips.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { useEngine } from '../helpers/gpu.js';
import { gpuAgainstOracle } from '../helpers/oracle.js';
import { runJudged } from '../helpers/stack-judge.js';
import { resolveConfig } from '../../src/model/config.js';
import { inputsFromFile, SafetensorsFile, weightsFromFile } from '../../src/node/safetensors-file.js';

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
        const weights = weightsFromFile(weightsFile, cfg);
        const inputs = inputsFromFile(inputFile, cfg);
        let first: Float32Array | null = null;
        const r = await runJudged(engine(), cfg, {
          weights, inputs, attention, label: c.name,
          onLayer: async (p, probe) => { if (p.layer === 0) first = await probe.readOutput(); },
        });
        expect(r.plan.attention).toBe(attention);
        if (weights.kind !== 'tensors') throw new Error('a weights file gives tensors');
        const after = expectedFile.read(c.layers === 1 ? 'y' : 'layer.0', [c.seq, c.dModel]);
        const direct = gpuAgainstOracle(cfg, await weights.layer(0), inputs.context, inputs.x, first!, after);
        expect(direct.passed, `layer 0 against numpy: ${direct.detail}`).toBe(true);
      } finally {
        weightsFile.close();
        inputFile.close();
        expectedFile.close();
      }
    });
  }
});
