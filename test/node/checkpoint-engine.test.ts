// The golden checkpoints (test/golden/checkpoints, numpy from Hugging Face's model definitions) through the engine
// on the GPU, decided by the one judge (src/verify/tolerance.ts). With test/node/checkpoint.test.ts, where the float64
// reference over the loaded tensors recomputes each step (embedding, every whole block: LN1, attention, LN2, MLP;
// the logits) from numpy's stored state within the oracle's allowance of numpy's next (test/helpers/oracle.ts):
// - the GPU's model run: every layer within λ·e of its float64 recomputation from the GPU's own input, the embedding
//   and logits likewise (runJudged); so together the engine matches numpy step by step;
// - and directly: every GPU state and logit within the reach of the two sides' allowances carried through the stack
//   (test/helpers/oracle-reach.ts), the top tokens numpy's wherever numpy's margin exceeds that reach.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointRunConfig } from '../../src/io/checkpoint-config.js';
import { Checkpoint } from '../../src/node/checkpoint.js';
import { nextTokens } from '../../src/model/next-tokens.js';
import { judge } from '../../src/verify/tolerance.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { useEngine } from '../helpers/gpu.js';
import { checkpointOracle, topTokensDisagreement } from '../helpers/oracle-reach.js';
import { runJudged } from '../helpers/stack-judge.js';

const engine = useEngine();
const DIR = join(GOLDEN_DIR, 'checkpoints');
const CASES: { name: string; layers: number; tokens: number[]; top: { id: number }[] }[] = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));

describe.each(CASES)('$name', (c) => {
  it('the engine\'s model run (block full, streamed from the files): every step judged, and numpy\'s states, logits and top tokens within reach', async () => {
    const { states, logits, reach } = checkpointOracle(DIR, c.name, c.layers, c.tokens.length);
    const ckpt = Checkpoint.open(join(DIR, c.name));
    try {
      const cfg = checkpointRunConfig(ckpt.config, { seq: c.tokens.length });
      const tensors = ckpt.modelTensors();
      const gpu: Float32Array[] = [];
      const r = await runJudged(engine(), cfg, {
        weights: ckpt.weightSource(), model: { tensors, tokens: Uint32Array.from(c.tokens) }, label: c.name,
        onLayer: async (_p, probe) => { gpu.push(await probe.readOutput()); },
      });
      expect(r.layersRun).toBe(c.layers);
      [r.embedded!, ...gpu].forEach((s, m) => {
        const j = judge(s, states[m]!, reach.states[m]!);
        expect(j.passed, `state ${m} (0: the embedding) against numpy's: ${j.detail}`).toBe(true);
      });
      const j = judge(r.logits!, logits, reach.logits, (v) => `logit of id ${v}`);
      expect(j.passed, `logits against numpy's: ${j.detail}`).toBe(true);
      const ids = nextTokens(r.logits!, c.top.length, null).map((t) => t.id);
      expect(topTokensDisagreement(ids, logits, reach.logits)).toBe('');
    } finally {
      ckpt.close();
    }
  });
});
