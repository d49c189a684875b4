// The decode step's attention core until the split-key decode kernel (src/kernels/decode.ts) is in:
// the fused attention kernel (shaders/attention.wgsl) run for one query row per head over the whole
// cache of that head, [rows, dHead] at offset h·rows·dHead, prepared for kvSeq = rows (the index
// checks) and then told kvSeq = n: setLength rewrites that one uniform word, queue-ordered before
// the next submit, so the kernel reads exactly the first n rows (the unwritten rows beyond are
// poisoned with NaN, and even a masked key block would carry 0·NaN into the sums: they must not be
// read at all; the grid does not depend on kvSeq). One dispatch per head, so a single
// token keeps few workgroups busy: the split-key kernel is the fast path.

import type { GpuContext } from '../gpu/device.js';
import { InputError } from '../gpu/errors.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { prepareAttention } from '../kernels/attention.js';
import { release, type PreparedDispatch } from '../kernels/dispatch.js';
import type { Precision } from '../kernels/precision.js';

export interface DecodeCoreCall {
  label: string;
  /** The new token's query row [heads·dHead]. */
  q: GPUBuffer;
  /** [heads, maxSeq, dHead] each. */
  kCache: GPUBuffer;
  vCache: GPUBuffer;
  /** [heads·dHead]. */
  out: GPUBuffer;
  heads: number;
  dHead: number;
  maxSeq: number;
  n: number;
  precision?: Precision;
}

export interface DecodeCore {
  readonly dispatches: readonly PreparedDispatch[];
  setLength(n: number): void;
  destroy(): void;
}

/** The byte offset of kvSeq in the fused kernel's uniforms (src/kernels/attention.ts packs it second). */
const KV_SEQ_BYTES = 4;

export async function prepareDecodeCore(gpu: GpuContext, cache: PipelineCache, call: DecodeCoreCall): Promise<DecodeCore> {
  const { heads, dHead, maxSeq } = call;
  const inner = heads * dHead;
  const dispatches: PreparedDispatch[] = [];
  try {
    for (let h = 0; h < heads; h++) {
      dispatches.push(await prepareAttention(gpu, cache, {
        label: `${call.label} head ${h}`,
        q: { buffer: call.q }, k: { buffer: call.kCache }, v: { buffer: call.vCache }, out: { buffer: call.out },
        seq: 1, kvSeq: maxSeq, heads: 1, dHead, ldQ: inner, ldK: dHead, ldO: inner,
        offQ: h * dHead, offK: h * maxSeq * dHead, offV: h * maxSeq * dHead, offO: h * dHead,
        causal: false, precision: call.precision,
      }));
    }
  } catch (e) {
    release(dispatches);
    throw e;
  }
  const word = new Uint32Array(1);
  const core: DecodeCore = {
    dispatches,
    setLength(n: number): void {
      if (!Number.isInteger(n) || n < 1 || n > maxSeq) throw new InputError(`${call.label}: cache length ${n} must be an integer in 1 .. ${maxSeq}`);
      word[0] = n;
      for (const d of dispatches) gpu.device.queue.writeBuffer(d.owned[0]!, KV_SEQ_BYTES, word);
    },
    destroy(): void {
      release(dispatches);
      dispatches.length = 0;
    },
  };
  core.setLength(call.n);
  return core;
}
