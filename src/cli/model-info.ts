// `info --model DIR`: how a checkpoint (its config.json alone, no weights read) would run on this
// adapter: the memory plan at its full context per precision, the weights streamed per layer
// (one layer on the GPU at a time, the next read from disk while it runs), the tensors held for
// the whole run (embeddings, final LayerNorm, unembedding) and the unembedding's row chunks.

import { checkpointParameters, checkpointRunConfig, type CheckpointConfig } from '../io/checkpoint-config.js';
import { formatBytes } from '../gpu/errors.js';
import type { Engine } from '../model/engine.js';
import { planMemory, type MemoryPlan } from '../model/plan.js';
import { readCheckpointConfig } from '../node/checkpoint.js';
import { showPath } from '../node/paths.js';

export interface ModelPlanReport {
  dir: string;
  config: CheckpointConfig;
  /** Per storage precision the adapter offers: the plan at the model's full context, or why it does not fit. */
  plans: Record<string, {
    seq: number;
    plan: MemoryPlan | null;
    refused: string | null;
    /** When the full context does not fit: the longest sequence that does (0: none). */
    longestSeq: number | null;
    weightsPerLayerBytes: number;
    /** Token and position embeddings, final LayerNorm, an untied unembedding: held for the whole run (f32). */
    heldBytes: number;
    /** Rows of the token table and the unembedding [vocab, d_model] bound at once (the plan's vocabChunkRows). */
    unembeddingChunkRows: number;
    unembeddingChunks: number;
  }>;
}

export function modelPlanReport(engine: Engine, dir: string): ModelPlanReport {
  const { config: c } = readCheckpointConfig(dir);
  const p = checkpointParameters(c);
  const plans: ModelPlanReport['plans'] = {};
  for (const precision of engine.gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
    const bytes = precision === 'f16' ? 2 : 4;
    // The engine's own checks and attention choice, then the plan with the model's tables
    // (sizes only: no table is read from config.json alone).
    const planAt = (seq: number): MemoryPlan => {
      const { cfg, plan: layersOnly } = engine.plan(checkpointRunConfig(c, { seq, precision }));
      return planMemory(cfg, engine.gpu.limits, { attention: layersOnly.attention, model: { vocab: c.vocab, positionRows: c.positionRows, tiedUnembedding: c.tied } });
    };
    let plan: MemoryPlan | null = null;
    let refused: string | null = null;
    let longestSeq: number | null = null;
    try {
      plan = planAt(c.positions);
    } catch (e) {
      refused = (e as Error).message;
      // The plan grows with seq: the longest that fits, by bisection.
      let lo = 0, hi = c.positions;
      while (lo + 1 < hi) {
        const mid = Math.floor((lo + hi) / 2);
        try {
          planAt(mid);
          lo = mid;
        } catch {
          hi = mid;
        }
      }
      longestSeq = lo;
    }
    plans[precision] = {
      seq: c.positions, plan, refused, longestSeq,
      weightsPerLayerBytes: bytes * p.perLayer.total,
      heldBytes: 4 * (p.tokenEmbedding + p.positionEmbedding + p.finalLayerNorm + p.unembedding),
      unembeddingChunkRows: plan?.vocabChunkRows ?? 0, unembeddingChunks: plan ? Math.ceil(c.vocab / plan.vocabChunkRows) : 0,
    };
  }
  return { dir, config: c, plans };
}

export function printModelPlan(r: ModelPlanReport): void {
  const c = r.config;
  console.log(`model     ${c.family === 'gpt2' ? 'GPT-2' : 'OPT'} (config.json of ${showPath(r.dir)}): ${c.layers} layers, ${c.heads} heads × ${c.dHead}, d_model ${c.dModel}, MLP ${c.ffn}, vocabulary ${c.vocab}, context ${c.positions}`);
  for (const [precision, q] of Object.entries(r.plans)) {
    const plan = q.plan
      ? `peak ${formatBytes(q.plan.peakBytes)} on the GPU, the model's tables included (attention ${q.plan.attention}${q.plan.attention === 'materialized' ? `, ${q.plan.headGroup} heads per group` : ''})`
      : `does not fit (${q.refused}); ${q.longestSeq ? `up to ${q.longestSeq} tokens fit` : 'no sequence fits'}`;
    const parts = [
      `${precision} at ${q.seq} tokens: ${plan}`,
      `weights streamed per layer ${formatBytes(q.weightsPerLayerBytes)} (one layer on the GPU, the next read while it runs)`,
      `held in host memory for the run ${formatBytes(q.heldBytes)} (embeddings, final LayerNorm${!c.tied ? ', unembedding' : ''})`,
      ...(q.plan ? [`token table and unembedding bound in ${q.unembeddingChunks} chunk(s) of at most ${q.unembeddingChunkRows} rows`] : []),
    ];
    console.log(`  ${parts.join('; ')}`);
  }
}
