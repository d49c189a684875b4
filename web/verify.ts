// The page's side of verification: decides whether the CPU reference is affordable, and runs
// it in web/worker.ts. A fresh worker per page (terminated when a new run replaces the old).

import type { AttentionConfig, Inputs, LayerTensors, Verification } from '../src/index.js';
import { innerWidth } from '../src/index.js';

export interface VerifyRequest {
  id: number;
  cfg: AttentionConfig;
  seed: number;
  /** null: the worker regenerates the seeded inputs itself. */
  inputs: Inputs | null;
  /** null: the worker regenerates the seeded weights; else the very tensors the GPU ran (a file, the chapter's example). */
  weights: LayerTensors[] | null;
  /** The GPU's residual stream before the first layer and after each layer that ran. */
  states: Float32Array[];
  /**
   * A checkpoint run: the worker opens the same files again and reads each layer from them (the
   * page never holds the whole model), then checks the model's ends (the embedding of the tokens,
   * the final LayerNorm and the logits) against float64 too. `embedded` is states[0].
   */
  model?: { files: File[]; label: string; tokens: Uint32Array; embedded: Float32Array; logits: Float32Array | null; output: Float32Array };
}

export type VerifyResponse =
  | { id: number; ok: true; verification: Verification; ms: number }
  | { id: number; ok: false; error: string };

/**
 * Work units of the float64 reference: multiply-adds, plus each generated weight counted as
 * 5 (a hash and a multiply in JS). About 1e9 units take a few seconds on one core.
 */
export function referenceCost(cfg: AttentionConfig): number {
  const inner = innerWidth(cfg);
  const perLayer =
    cfg.seq * cfg.dModel * inner * 2 + // Q and the output projection
    cfg.kvSeq * cfg.dModel * inner * 2 + // K and V
    cfg.seq * cfg.kvSeq * inner * 2 + // scores and weighted sums
    (cfg.block === 'full' ? cfg.seq * cfg.dModel * cfg.ffn * 2 : 0) + // the MLP's two products
    5 * 4 * inner * cfg.dModel; // regenerating the four weight matrices
  return perLayer * cfg.layers;
}

/** Beyond this the page refuses exact verification (a minute or more of CPU, megabytes of float64). */
export const EXACT_LIMIT = 4e9;

export function refusal(cfg: AttentionConfig): string | null {
  const cost = referenceCost(cfg);
  if (cost <= EXACT_LIMIT) return null;
  return (
    `refused: exact verification recomputes the whole stack in float64 on the CPU, ≈${(cost / 1e9).toFixed(1)}e9 operations ` +
    `(limit ${EXACT_LIMIT / 1e9}e9). Set “verification” to none, or use fewer layers, tokens or a smaller d_model to verify.`
  );
}

export class Verifier {
  private worker: Worker | null = null;
  private pending: ((r: VerifyResponse) => void) | null = null;
  private next = 1;

  run(request: Omit<VerifyRequest, 'id'>): Promise<VerifyResponse> {
    this.cancel();
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'verify' });
    this.worker = worker;
    const id = this.next++;
    return new Promise((resolve) => {
      const settle = (r: VerifyResponse) => {
        if (this.pending !== settle) return;
        this.pending = null;
        this.worker = null;
        worker.terminate();
        resolve(r);
      };
      this.pending = settle;
      worker.onmessage = (e: MessageEvent<VerifyResponse>) => {
        if (e.data.id === id) settle(e.data);
      };
      worker.onerror = (e) => settle({ id, ok: false, error: `the verification worker failed: ${e.message || 'could not load worker.js'}` });
      worker.postMessage({ ...request, id } satisfies VerifyRequest);
    });
  }

  /** Stops a running verification (a new run replaces it); its promise settles as cancelled. */
  cancel(): void {
    this.pending?.({ id: 0, ok: false, error: 'cancelled' });
  }
}

/** The verdict as the page shows it, and what lastRun records. */
export interface VerdictText {
  kind: 'passed' | 'failed' | 'refused' | 'skipped';
  text: string;
  verification: Verification | null;
}

/** Decides and runs the page's check of a finished run (layers that ran only). */
export async function verifyRun(
  verifier: Verifier,
  mode: 'exact' | 'none',
  request: Omit<VerifyRequest, 'id'>,
  layersRun: number,
  onStart: (text: string) => void,
): Promise<VerdictText | null> {
  if (mode === 'none') return { kind: 'skipped', text: 'not verified: “verification” is set to none', verification: null };
  if (layersRun === 0) return { kind: 'skipped', text: 'not verified: stopped before the first layer', verification: null };
  const cfg = { ...request.cfg, layers: layersRun };
  const refused = refusal(cfg);
  if (refused) return { kind: 'refused', text: refused, verification: null };
  onStart(`verifying ${layersRun} layer(s) against the float64 CPU reference in a worker…`);
  const reply = await verifier.run({ ...request, cfg });
  if (!reply.ok) return reply.error === 'cancelled' ? null : { kind: 'failed', text: `failed: the verification could not run: ${reply.error}`, verification: null };
  const v = reply.verification;
  const verdict = v.passed === null ? 'not verified' : v.passed ? 'passed' : 'failed';
  return {
    kind: v.passed ? 'passed' : 'failed',
    text:
      `${verdict}: worst ${v.worstRatio!.toPrecision(3)}× the tolerance, max abs error ${v.maxAbsError!.toExponential(2)}; ` +
      `${v.detail}; ${(reply.ms / 1000).toFixed(2)} s on the CPU`,
    verification: v,
  };
}
