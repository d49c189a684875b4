// `webgpu-attention params`: parameter counts per head, layer and stack, and the work of one pass.

import { configFromFlags, parseFlags, RUN_FLAGS } from './args.js';
import { innerWidth, resolveConfig } from '../model/config.js';
import { layerFlops, parameterCount } from '../model/flops.js';
import { formatBytes } from '../gpu/errors.js';
import { modelParamsReport, printModelParams, refuseShapeFlags } from './model-params.js';

export async function paramsCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, RUN_FLAGS);
  if (flags.model !== undefined) {
    // A checkpoint's config.json alone: no weights read, no adapter needed.
    refuseShapeFlags(flags);
    const report = modelParamsReport(String(flags.model));
    if (flags.json) console.log(JSON.stringify(report, null, 2));
    else printModelParams(report);
    return 0;
  }
  const { base, overrides } = configFromFlags(flags);
  const cfg = resolveConfig(overrides, base);
  const p = parameterCount(cfg);
  const f = layerFlops(cfg);
  const inner = innerWidth(cfg);
  // Bytes one layer moves at least once: its weights, x in and out (f32 in both precisions: the
  // residual stream), q/k/v, weighted sums, and the materialized pattern written and read twice
  // (softmax in place, then pattern·V). f16 halves all but x.
  // Block 'full' adds the MLP: fc1 [ffn, d_model], fc2 [d_model, ffn], their biases, LN2 (f32), and
  // LN2(x) written and read, the hidden [seq, ffn] written and read.
  const full = cfg.block === 'full';
  const mlpParams = full ? 2 * cfg.dModel * cfg.ffn + cfg.ffn + cfg.dModel : 0;
  const bytes = (half: number) => {
    const weights = half * (p.perLayer + mlpParams) + (full ? 4 * 2 * cfg.dModel : 0);
    const activations = 4 * 2 * cfg.seq * cfg.dModel + half * (cfg.seq * inner * 2 + 2 * cfg.kvSeq * inner) +
      (full ? half * 2 * (cfg.seq * cfg.dModel + cfg.seq * cfg.ffn) : 0);
    const pattern = half * cfg.heads * cfg.seq * cfg.kvSeq * 4;
    return { weightsPerLayer: weights, perLayer: weights + activations + pattern, total: (weights + activations + pattern) * cfg.layers, weightsTotal: weights * cfg.layers };
  };
  const perPrecision = { f32: bytes(4), f16: bytes(2) };
  const layerBytes = perPrecision[cfg.precision].perLayer;
  const report = {
    config: cfg,
    parameters: {
      perMap: p.perMap,
      perHead: p.perHead,
      perLayer: p.perLayer,
      total: p.total,
      maps: { query: p.perMap, key: p.perMap, valueDown: p.perMap, valueUp: p.perMap },
      /** Block 'full': the MLP's fc1, fc2 and their biases per layer (LN2's 2·d_model apart), and per stack. */
      ...(full ? { mlpPerLayer: mlpParams, mlpTotal: mlpParams * cfg.layers } : {}),
    },
    forward: {
      flopsPerLayer: f.total,
      projectionFlopsPerLayer: f.projections,
      attentionCoreFlopsPerLayer: f.attentionCore,
      mlpFlopsPerLayer: f.mlp,
      flopsTotal: f.total * cfg.layers,
      bytesPerLayer: layerBytes,
      bytesTotal: layerBytes * cfg.layers,
      /** Bytes moved and weight bytes, per precision (f16 halves all but the f32 residual stream). */
      bytesPerPrecision: perPrecision,
    },
  };
  if (flags.json) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  const n = (x: number) => x.toLocaleString('en-US');
  console.log(`shape: ${cfg.layers} layers, ${cfg.heads} heads × d_head ${cfg.dHead}, d_model ${cfg.dModel}, seq ${cfg.seq}`);
  console.log(`per head: query ${n(p.perMap)}, key ${n(p.perMap)}, value-down ${n(p.perMap)}, value-up ${n(p.perMap)} = ${n(p.perHead)}`);
  console.log(`per layer (${cfg.heads} heads): ${n(p.perLayer)}`);
  console.log(`total (${cfg.layers} layers): ${n(p.total)} attention parameters`);
  if (full) console.log(`MLP (--block full, ffn ${cfg.ffn}): ${n(mlpParams)} per layer (fc1, fc2 and biases), ${n(mlpParams * cfg.layers)} in all`);
  console.log(`one forward pass: ${(f.total * cfg.layers / 1e12).toFixed(2)} TFLOP ` +
    `(per layer ${(f.projections / 1e9).toFixed(1)} GFLOP projections + ${(f.attentionCore / 1e9).toFixed(1)} GFLOP attention core` +
    `${full ? ` + ${(f.mlp / 1e9).toFixed(1)} GFLOP MLP` : ''}), ` +
    `at least ${formatBytes(perPrecision.f32.total)} moved in f32 (${formatBytes(perPrecision.f32.perLayer)} per layer), ` +
    `${formatBytes(perPrecision.f16.total)} in f16`);
  console.log(`weights: ${formatBytes(perPrecision.f32.weightsTotal)} in f32, ${formatBytes(perPrecision.f16.weightsTotal)} in f16`);
  return 0;
}
