// GPU time per stage, per layer and in all, from the timer's labelled passes. The stage names
// are the layer's (Stage['name']) plus 'weights' (filling or uploading them, kept apart from the
// attention arithmetic).

import type { AttentionConfig } from './config.js';
import type { Stage } from './layer.js';
import type { AttentionMode } from './plan.js';

export type StageName = Stage['name'];
export type StageTimings = Record<StageName, number>;

export const STAGE_NAMES: readonly StageName[] = ['norm', 'qkv', 'scores', 'softmax', 'weighted', 'fused', 'output', 'mlp-norm', 'mlp-up', 'mlp-down'];

export const zeroTimings = (): StageTimings => ({
  norm: 0, qkv: 0, scores: 0, softmax: 0, weighted: 0, fused: 0, output: 0, 'mlp-norm': 0, 'mlp-up': 0, 'mlp-down': 0,
});

export class StageClock {
  readonly perLayerMs: number[] = [];
  readonly perLayerStagesMs: StageTimings[] = [];
  readonly stagesMs = zeroTimings();
  weightsMs = 0;
  gpuMs = 0;

  /** One layer: its passes' times (timestamp queries), or null and the wall time of its drained queue. */
  addLayer(passes: { label: string; ms: number }[] | null, wallMs: number): number {
    let layerMs = wallMs;
    if (passes) {
      layerMs = 0;
      const own = zeroTimings();
      for (const { label, ms } of passes) {
        if (label === 'weights') {
          this.weightsMs += ms;
          continue;
        }
        if (!(STAGE_NAMES as readonly string[]).includes(label)) throw new Error(`timing: unknown stage '${label}'`);
        own[label as StageName] += ms;
        this.stagesMs[label as StageName] += ms;
        layerMs += ms;
      }
      this.perLayerStagesMs.push(own);
    }
    this.perLayerMs.push(layerMs);
    this.gpuMs += layerMs;
    return layerMs;
  }
}

/**
 * The stages a plan's layers run, in order: LayerNorm first with norm 'layernorm'; the fused
 * core replaces scores, softmax and weighted sums; block 'full' adds the MLP's three.
 */
export function planStages(attention: AttentionMode, norm: AttentionConfig['norm'] = 'none', block: AttentionConfig['block'] = 'attention'): StageName[] {
  const core: StageName[] = attention === 'fused' ? ['fused'] : ['scores', 'softmax', 'weighted'];
  const mlp: StageName[] = block === 'full' ? ['mlp-norm', 'mlp-up', 'mlp-down'] : [];
  return [...(norm === 'layernorm' ? ['norm' as const] : []), 'qkv', ...core, 'output', ...mlp];
}
