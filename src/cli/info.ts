// `webgpu-attention info`: the adapter the engine would use, its features and limits, its subgroup
// widths and the matmul tile config it starts from (before any tuning).

import { parseFlags } from './args.js';
import { Engine } from '../model/engine.js';
import { modelPlanReport, printModelPlan } from './model-info.js';
import { createNodeGpu } from '../node/dawn.js';
import { formatBytes } from '../gpu/errors.js';
import { defaultTileFor, describeTile } from '../kernels/matmul.js';

export async function infoCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { json: { type: 'boolean' }, model: { type: 'string' } });
  const engine = await Engine.create(createNodeGpu());
  const gpu = engine.gpu;
  try {
    // --model DIR: the checkpoint's plan on this adapter, from its config.json alone.
    const model = flags.model !== undefined ? modelPlanReport(engine, String(flags.model)) : null;
    const limits: Record<string, number> = {};
    for (const key in gpu.limits) {
      const v = (gpu.limits as unknown as Record<string, unknown>)[key];
      if (typeof v === 'number') limits[key] = v;
    }
    const features = [...gpu.device.features].sort();
    const subgroupMatrixConfigs = (gpu.adapter.info as unknown as { subgroupMatrixConfigs?: unknown[] }).subgroupMatrixConfigs ?? [];
    const raw = gpu.adapter.info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number };
    const subgroupSizes = gpu.hasSubgroups ? { min: raw.subgroupMinSize ?? null, max: raw.subgroupMaxSize ?? null } : null;
    const tile = defaultTileFor(gpu);
    const info = { adapter: gpu.adapterInfo, features, limits, subgroupMatrixConfigs, subgroupSizes, matmulDefault: { tile: describeTile(tile), config: tile }, ...(model ? { model } : {}) };
    if (flags.json) {
      console.log(JSON.stringify(info, null, 2));
      return 0;
    }
    const a = gpu.adapterInfo;
    console.log(`adapter   ${a.name}${a.isSoftware ? ' (software adapter)' : ''}`);
    console.log(`vendor    ${a.vendor || '-'}   architecture ${a.architecture || '-'}   device ${a.device || '-'}`);
    console.log(`features  ${features.join(', ')}`);
    if (subgroupSizes) console.log(`subgroups ${subgroupSizes.min ?? '?'}–${subgroupSizes.max ?? '?'} invocations`);
    console.log(`matmul    ${describeTile(tile)} (the measured default for this adapter, before tuning)`);
    if (model) printModelPlan(model);
    console.log('limits');
    for (const [key, value] of Object.entries(limits).sort()) {
      const shown = /Size$/.test(key) && value >= 1 << 20 ? `${value} (${formatBytes(value)})` : String(value);
      console.log(`  ${key.padEnd(44)} ${shown}`);
    }
    return 0;
  } finally {
    engine.destroy();
  }
}
