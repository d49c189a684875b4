// What `run` prints: one JSON object for machines, a short summary for people.

import { planStages, type RunResult } from '../model/engine.js';
import type { Verification } from '../verify/exact.js';
import type { LayerVerification } from '../verify/sampled.js';
import { formatBytes } from '../gpu/errors.js';
import type { TuneResult } from '../tune/matmul.js';
import type { AttentionTuneResult } from '../tune/attention.js';
import { describeTile } from '../kernels/matmul.js';

export function runReport(result: RunResult, verification: Verification, layerChecks: LayerVerification[],
  tuning?: { matmul: TuneResult; attention: AttentionTuneResult }) {
  const t = result.timings;
  return {
    adapter: result.adapter,
    config: result.config,
    layersRun: result.layersRun,
    stopped: result.stopped,
    firstNonFiniteLayer: result.firstNonFiniteLayer,
    timings: {
      source: t.source,
      totalMs: t.totalMs,
      gpuMs: t.gpuMs,
      perLayerMs: t.perLayerMs,
      stagesMs: t.stagesMs,
      // Each layer's stages: layer 0 minus layer 1 is the first use (a CPU adapter's shader compiles).
      perLayerStagesMs: t.perLayerStagesMs,
      weightsMs: t.weightsMs,
      // A model run's embedding and logits, outside the layers (wall clock, read back included).
      modelEndsMs: t.modelEndsMs,
    },
    // Pipelines created and the time spent preparing them, apart from GPU time; dispatches per layer (one submit each).
    compile: result.compile,
    dispatchesPerLayer: result.dispatchesPerLayer,
    flops: result.flops,
    tflops: result.tflops,
    peakBytes: result.peakBytes,
    // The config each product's tile was fitted from, and where it came from (tuned, stored, default).
    matmul: { tile: describeTile(result.matmulTile), config: result.matmulTile, source: tuning?.matmul.source ?? 'given' },
    // The core that ran, and whether a timing (tuned now or stored) chose it.
    attention: { mode: result.plan.attention, source: tuning?.attention.mode === result.plan.attention ? tuning.attention.source : 'rule' },
    plan: { attention: result.plan.attention, headGroup: result.plan.headGroup, headGroups: result.plan.headGroups, qkvChunkRows: result.plan.qkvChunkRows, outputChunkRows: result.plan.outputChunkRows },
    verification,
    layerChecks,
  };
}

export function printRunSummary(r: ReturnType<typeof runReport> & { status: string; message: string; output: { path: string | null; written: boolean; reason: string } }): void {
  const c = r.config;
  const shape = `${c.layers} layers × ${c.heads} heads × d_head ${c.dHead}, d_model ${c.dModel}, seq ${c.seq}` +
    (c.cross ? `, cross-attention over ${c.kvSeq} context tokens` : c.mask ? ', causal' : ', unmasked') + (c.bias ? ', biases' : '') +
    (c.norm === 'layernorm' ? ', pre-LayerNorm' : '') +
    (c.block === 'full' ? `, full block: MLP ${c.dModel} → ${c.ffn} → ${c.dModel} (${c.activation}), LayerNorm eps ${c.lnEps}` : '');
  const gflops = r.tflops * 1000;
  const lines = [
    `adapter      ${r.adapter.name}${r.adapter.isSoftware ? ' (software adapter)' : ''}`,
    `shape        ${shape}`,
    `time         ${r.timings.gpuMs.toFixed(2)} ms GPU (${r.timings.source}), ${r.timings.totalMs.toFixed(1)} ms wall` +
      (r.stopped ? `, stopped after ${r.layersRun} of ${c.layers} layers` : ''),
    `throughput   ${gflops >= 1000 ? (gflops / 1000).toFixed(2) + ' TFLOP/s' : gflops.toFixed(2) + ' GFLOP/s'} (${(r.flops.total / 1e9).toFixed(2)} GFLOP)`,
    `stages       ${planStages(r.plan.attention, c.norm, c.block).map((k) => `${k} ${r.timings.stagesMs[k].toFixed(2)} ms`).join(', ')}`,
    ...(r.timings.modelEndsMs ? [`model ends   embedding ${r.timings.modelEndsMs.embedding.toFixed(2)} ms, final LayerNorm and logits ` +
      `${r.timings.modelEndsMs.logits === null ? 'not run (the stack stopped)' : `${r.timings.modelEndsMs.logits.toFixed(2)} ms`} (wall clock, read back included)`] : []),
    `compile      ${r.compile.pipelines} pipeline(s) created in ${r.compile.ms.toFixed(0)} ms, first dispatches ${r.compile.firstUseMs.toFixed(0)} ms (driver compile, buffer zeroing), before the first layer; ${r.dispatchesPerLayer} dispatches per layer, one submit`,
    `matmul       ${r.matmul.tile} (${r.matmul.source}), fitted to each product`,
    `attention    ${r.attention.mode}${r.attention.source === 'rule' ? '' : ` (${r.attention.source})`}`,
    `memory       ${formatBytes(r.peakBytes)} on the GPU` + (r.plan.attention === 'fused' ? ', fused attention (no pattern buffer)' : '') + (r.plan.headGroups > 1 ? `, pattern in ${r.plan.headGroups} head groups of ${r.plan.headGroup}` : ''),
    `verification ${verdict(r.verification)}: ` +
      (r.verification.maxAbsError === null ? r.verification.detail :
        `max abs error ${fmt(r.verification.maxAbsError)}, ${r.verification.detail}`),
    `output       ${r.output.path === null ? 'none' : r.output.written ? `written (${r.output.reason})` : r.output.reason}`,
    `status       ${r.message}`,
  ];
  console.log(lines.join('\n'));
}

const fmt = (x: number): string => (x === 0 ? '0' : x.toExponential(2));

/** Never "passed" for what was not checked. */
const verdict = (v: Verification): string => (v.passed === null ? `not verified (${v.mode})` : `${v.passed ? 'passed' : 'FAILED'} (${v.mode})`);
