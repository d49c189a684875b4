// The page's side of verification: decides whether the CPU reference is affordable, and runs
// it in web/worker.ts. A fresh worker per page (terminated when a new run replaces the old).

import type { AttentionConfig, Inputs, Verification } from '../src/index.js';
import { innerWidth } from '../src/index.js';

export interface VerifyRequest {
  id: number;
  cfg: AttentionConfig;
  seed: number;
  /** null: the worker regenerates the seeded inputs itself. */
  inputs: Inputs | null;
  /** The GPU's residual stream before the first layer and after each layer that ran. */
  states: Float32Array[];
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
    cfg.contextSeq * cfg.dModel * inner * 2 + // K and V
    cfg.seq * cfg.contextSeq * inner * 2 + // scores and weighted sums
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
    `(limit ${EXACT_LIMIT / 1e9}e9). Use verify=none, or fewer layers / a smaller d-model or seq to verify.`
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
