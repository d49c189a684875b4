// Verification of every decode step: each checked layer's attention output for the new token (one
// row per head) against float64, within the derived bound of ./layer-bound.ts (coreError: the
// scores, softmax and weighted sums of n keys in fp32, or with f16 stores).
//
// The reference does not read the GPU's cache. It keeps its own mirror of the keys and values:
// the prefill's k and v projections (read from the prefill's buffers) and, each step, the step's
// new k and v projections (read from the step's one-row buffers, before or apart from the cache's
// append). The GPU's decode kernel reads the cache. So a cache row that is stale, shifted or never
// appended, or a length off by one, makes the GPU's output differ from the reference's and the
// step fails, naming the step, the layer and the head. The query is the GPU's own q row, so the
// check is local to the attention core (the projections are verified by the prefill's checks and
// by the consistency of a step with a prefill, test/model/decode-consistency.test.ts).
//
// Exact mode checks every layer and head; sampled mode the layers a sampled prefill checks and up
// to SAMPLED_HEADS heads of each (chosen from a seed), every step. The mirror holds only the
// checked heads' columns.

import type { AttentionConfig } from '../model/config.js';
import { innerWidth } from '../model/config.js';
import { attentionCore, attentionLayer, type LayerWeights } from '../reference/attention.js';
import { BOUND_LAMBDA, coreError, layerOutputError } from './layer-bound.js';
import type { EndCheck } from './model-ends.js';

export const SAMPLED_HEADS = 4;

export interface DecodeLayerCheck {
  step: number;
  layer: number;
  /** Keys the reference attended (the true cache length). */
  n: number;
  passed: boolean;
  worstRatio: number;
  maxAbsError: number;
  nonFinite: number;
  detail: string;
}

export interface DecodeVerification {
  mode: 'exact' | 'sampled' | 'none';
  /** null: nothing checked. */
  passed: boolean | null;
  steps: number;
  checks: number;
  worstRatio: number | null;
  maxAbsError: number | null;
  /** The failed (step, layer) pairs, in order. */
  failed: { step: number; layer: number }[];
  tolerance: string;
  detail: string;
}

export const DECODE_TOLERANCE_WORDS = `per element λ·e(A), e the fp32 rounding estimate of the attention core over the step's n keys from its own q, keys and values (λ = ${BOUND_LAMBDA}; src/verify/layer-bound.ts coreError)`;

export class DecodeChecker {
  /** Per checked layer: the mirrored key and value rows [rows, checked heads · dHead]. */
  private readonly keys = new Map<number, number[][]>();
  private readonly values = new Map<number, number[][]>();
  readonly heads: number[];

  constructor(readonly cfg: AttentionConfig, readonly mode: 'exact' | 'sampled', readonly layers: ReadonlySet<number>, heads?: number[]) {
    this.heads = heads ?? Array.from({ length: cfg.heads }, (_, h) => h);
    for (const l of layers) {
      this.keys.set(l, []);
      this.values.set(l, []);
    }
  }

  /** Heads a sampled check takes: SAMPLED_HEADS of them spread from a seed (all when fewer). */
  static sampledHeads(heads: number, seed: number): number[] {
    if (heads <= SAMPLED_HEADS) return Array.from({ length: heads }, (_, h) => h);
    const start = seed % heads;
    return Array.from({ length: SAMPLED_HEADS }, (_, i) => (start + Math.floor((i * heads) / SAMPLED_HEADS)) % heads).sort((a, b) => a - b);
  }

  wants(layer: number): boolean {
    return this.layers.has(layer);
  }

  /** Mirrored rows of `layer` so far. */
  rows(layer: number): number {
    return this.keys.get(layer)?.length ?? 0;
  }

  /** Rows of k and v [rows, heads·dHead] (the prefill's, or one step's new row) into the mirror. */
  addRows(layer: number, k: ArrayLike<number>, v: ArrayLike<number>, rows: number): void {
    const K = this.keys.get(layer), V = this.values.get(layer);
    if (!K || !V) return;
    const inner = innerWidth(this.cfg);
    for (let j = 0; j < rows; j++) {
      K.push(this.pick(k, j * inner));
      V.push(this.pick(v, j * inner));
    }
  }

  /**
   * The step's attention output `weighted` [heads·dHead] of `layer` against float64 softmax(q·Kᵀ/√d)·V
   * over every mirrored row. Also returns each checked head's pattern row (for the page).
   */
  check(step: number, layer: number, q: ArrayLike<number>, weighted: ArrayLike<number>): DecodeLayerCheck {
    const { cfg } = this;
    const K = this.keys.get(layer)!, V = this.values.get(layer)!;
    const n = K.length;
    const hc = this.heads.length, d = cfg.dHead, width = hc * d;
    const qs = this.pick(q, 0), out = this.pick(weighted, 0);
    const k = new Float64Array(n * width), v = new Float64Array(n * width);
    for (let j = 0; j < n; j++) {
      k.set(K[j]!, j * width);
      v.set(V[j]!, j * width);
    }
    const ref = attentionCore(qs, k, v, { seq: 1, kvSeq: n, heads: hc, dHead: d, causal: false });
    // The core's bound for one query row seeing all n keys: a one-row, unmasked "cross" shape.
    const shape: AttentionConfig = { ...cfg, heads: hc, seq: 1, kvSeq: n, cross: true, mask: false };
    const e = coreError(shape, qs, k, v, null, null, null, ref);
    let worst = 0, worstAt = -1, maxAbs = 0, nonFinite = 0;
    for (let i = 0; i < width; i++) {
      const g = out[i]!;
      if (!Number.isFinite(g)) {
        if (nonFinite++ === 0) { worst = Infinity; worstAt = i; }
        maxAbs = Infinity;
        continue;
      }
      const err = Math.abs(g - ref[i]!);
      maxAbs = Math.max(maxAbs, err);
      const ratio = err / (BOUND_LAMBDA * e[i]! || Number.MIN_VALUE);
      if (ratio > worst) { worst = ratio; worstAt = i; }
    }
    const passed = worst <= 1 && nonFinite === 0;
    const head = worstAt < 0 ? -1 : this.heads[Math.floor(worstAt / d)]!;
    const where = `decode step ${step}, layer ${layer}`;
    const detail = worstAt < 0 ? `${where}: nothing compared` :
      `${where}: ${passed ? 'passed' : 'FAILED'}, worst ${worst.toPrecision(3)}× the tolerance at head ${head}, dim ${worstAt % d} over n = ${n} keys ` +
      `(gpu ${out[worstAt]}, float64 ${ref[worstAt]!.toPrecision(8)}, allowed ±${(BOUND_LAMBDA * e[worstAt]!).toExponential(2)})` +
      (nonFinite ? `, ${nonFinite} non-finite` : '');
    return { step, layer, n, passed, worstRatio: worst, maxAbsError: maxAbs, nonFinite, detail };
  }

  /** softmax(q_h·K_hᵀ/√d) of each checked head over the mirrored rows, float64 then f32: [checked head][n]. */
  patternRows(layer: number, q: ArrayLike<number>): Float32Array[] {
    const K = this.keys.get(layer)!;
    const qs = this.pick(q, 0);
    const d = this.cfg.dHead, scale = 1 / Math.sqrt(d);
    return this.heads.map((_, i) => {
      const s = new Float64Array(K.length);
      let m = -Infinity;
      for (let j = 0; j < K.length; j++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += qs[i * d + t]! * K[j]![i * d + t]!;
        s[j] = dot * scale;
        m = Math.max(m, s[j]!);
      }
      let z = 0;
      for (let j = 0; j < s.length; j++) z += s[j] = Math.exp(s[j]! - m);
      return Float32Array.from(s, (x) => x / z);
    });
  }

  /** The checked heads' columns of one row at `offset`. */
  private pick(a: ArrayLike<number>, offset: number): number[] {
    const d = this.cfg.dHead;
    const row: number[] = [];
    for (const h of this.heads) for (let t = 0; t < d; t++) row.push(a[offset + h * d + t]!);
    return row;
  }
}

export function summarizeDecode(mode: DecodeVerification['mode'], steps: number, checks: DecodeLayerCheck[],
  ends: { step: number; check: EndCheck }[] = []): DecodeVerification {
  if (mode === 'none' || checks.length === 0) {
    return { mode, passed: null, steps, checks: 0, worstRatio: null, maxAbsError: null, failed: [], tolerance: DECODE_TOLERANCE_WORDS, detail: mode === 'none' ? 'decode steps not verified (--verify none)' : 'no decode step was checked' };
  }
  const failed = checks.filter((c) => !c.passed);
  let worst = checks[0]!;
  for (const c of checks) if (c.worstRatio > worst.worstRatio) worst = c;
  const endsFailed = ends.filter((e) => !e.check.passed);
  const endsWords = ends.length === 0 ? '' : `; each step's embedding row and logits against float64: ` +
    (endsFailed.length ? `FAILED first at decode step ${endsFailed[0]!.step}, ${endsFailed[0]!.check.name}: ${endsFailed[0]!.check.detail}` : `${ends.length} passed`);
  return {
    mode, passed: failed.length === 0 && endsFailed.length === 0, steps, checks: checks.length,
    worstRatio: worst.worstRatio, maxAbsError: checks.reduce((m, c) => Math.max(m, c.maxAbsError), 0),
    failed: failed.map((c) => ({ step: c.step, layer: c.layer })),
    tolerance: DECODE_TOLERANCE_WORDS,
    detail: `${checks.length} (step, layer) attention outputs of ${steps} step(s) against float64 over the keys of the projections (not the GPU's cache); ` +
      (failed.length ? `FAILED first at ${failed[0]!.detail}` + (failed.length > 1 ? `; ${failed.length} failed in all` : '') : `worst: ${worst.detail}`) + endsWords,
  };
}

export interface DecodeRowCheck {
  passed: boolean;
  worstRatio: number;
  maxAbsError: number;
  detail: string;
}

/**
 * The consistency of a decode step with a prefill, layer-locally: `input` holds the rows the layer
 * saw [rows, dModel], the prompt's (from the prefill) and every decoded token's so far, the last
 * being this step's; the step's output row of this layer must equal the last row of the float64
 * layer over all of them (a prefill of the same tokens) within λ·e, e the layer's derived bound
 * (./layer-bound.ts layerOutputError, as the exact prefill check uses).
 */
export function checkDecodeRow(cfg: AttentionConfig, step: number, layer: number, w: LayerWeights, input: Float32Array, output: Float32Array): DecodeRowCheck {
  const rows = input.length / cfg.dModel;
  const shape: AttentionConfig = { ...cfg, seq: rows, kvSeq: rows, maxSeq: Math.max(cfg.maxSeq, rows) };
  const ref = attentionLayer(input, null, w, shape);
  const e = layerOutputError(shape, input, null, w, ref);
  const D = cfg.dModel, base = (rows - 1) * D;
  let worst = 0, at = 0, maxAbs = 0;
  for (let d = 0; d < D; d++) {
    const err = Math.abs(output[d]! - ref.y[base + d]!);
    const ratio = Number.isFinite(err) ? err / (BOUND_LAMBDA * e[base + d]!) : Infinity;
    maxAbs = Math.max(maxAbs, Number.isFinite(err) ? err : Infinity);
    if (!(ratio <= worst)) { worst = ratio; at = d; }
  }
  const passed = worst <= 1;
  return {
    passed, worstRatio: worst, maxAbsError: maxAbs,
    detail: `decode step ${step}, layer ${layer}: ${passed ? 'passed' : 'FAILED'}, the new row against the last of a float64 prefill of ${rows} rows: ` +
      `worst ${worst.toPrecision(3)}× the tolerance at dim ${at} (gpu ${output[at]}, float64 ${ref.y[base + at]!.toPrecision(8)}, allowed ±${(BOUND_LAMBDA * e[base + at]!).toExponential(2)})`,
  };
}
