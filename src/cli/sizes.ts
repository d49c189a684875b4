// Sizes from the flags and the files' headers, checked in numbers before anything is allocated
// (the seeded inputs, the adapter, the plan): a configuration whose arrays cannot exist is refused
// in milliseconds, naming the flags and the limit, instead of dying in a typed-array constructor
// or after gigabytes of host memory.

import { totalmem } from 'node:os';
import { formatBytes } from '../gpu/errors.js';
import { ConfigError, innerWidth, type AttentionConfig } from '../model/config.js';

/**
 * The most elements one WebGPU binding can hold for our kernels: WGSL indexes an array, and
 * reports its length (arrayLength), in u32. Every activation is bound whole (model/plan.ts).
 */
export const MAX_BINDING_ELEMENTS = 2 ** 32 - 1;

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Refuses a configuration whose activations could not be bound on any adapter, or whose host
 * arrays (the inputs, the exact check's residual stream after every layer) exceed the machine's
 * memory. The adapter's own limits are checked next, by the plan, before the inputs are built.
 */
export function checkSizesInNumbers(cfg: AttentionConfig, mode: 'exact' | 'sampled' | 'none', hostBytes = totalmem()): void {
  const inner = innerWidth(cfg);
  const arrays: { name: string; flags: string; elements: number }[] = [
    { name: 'x [seq, d_model]', flags: `--seq ${cfg.seq} × --d-model ${cfg.dModel}`, elements: cfg.seq * cfg.dModel },
    { name: 'q [seq, heads·d_head]', flags: `--seq ${cfg.seq} × --heads ${cfg.heads} × --d-head ${cfg.dHead}`, elements: cfg.seq * inner },
    { name: 'k and v [kv_seq, heads·d_head]', flags: `--kv-seq ${cfg.kvSeq} × --heads ${cfg.heads} × --d-head ${cfg.dHead}`, elements: cfg.kvSeq * inner },
  ];
  if (cfg.block === 'full') arrays.push({ name: 'the MLP hidden [seq, ffn]', flags: `--seq ${cfg.seq} × --ffn ${cfg.ffn}`, elements: cfg.seq * cfg.ffn });
  if (cfg.cross) arrays.push({ name: 'context [kv_seq, d_model]', flags: `--kv-seq ${cfg.kvSeq} × --d-model ${cfg.dModel}`, elements: cfg.kvSeq * cfg.dModel });
  for (const a of arrays) {
    if (a.elements > MAX_BINDING_ELEMENTS) {
      throw new ConfigError(`${a.flags}: ${a.name} would hold ${count(a.elements)} values, over the ${count(MAX_BINDING_ELEMENTS)} a WebGPU binding can index (u32)`);
    }
  }
  // Host memory the run holds at once: x (and the context) in f32, and with --verify exact the
  // GPU's residual stream after every layer.
  const inputs = 4 * (cfg.seq * cfg.dModel + (cfg.cross ? cfg.kvSeq * cfg.dModel : 0));
  const states = mode === 'exact' ? 4 * cfg.layers * cfg.seq * cfg.dModel : 0;
  if (inputs + states > hostBytes) {
    const what = mode === 'exact' ? `the inputs and --verify exact's residual stream after each of --layers ${cfg.layers}` : 'the inputs';
    throw new ConfigError(`${what} need ${formatBytes(inputs + states)} of host memory, over this machine's ${formatBytes(hostBytes)}`);
  }
}
