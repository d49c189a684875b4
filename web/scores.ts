// The raw scores q·k/√d_head of every head, before the mask and the softmax, computed on the CPU
// from the Q and K the GPU produced (the engine keeps no score buffer once the softmax has run).

import type { AttentionConfig } from '../src/index.js';

/** [head] → [seq × kvSeq] scores; masked cells (key after query) are −∞. */
export function headScores(q: Float32Array, k: Float32Array, cfg: AttentionConfig): Float32Array[] {
  const inner = cfg.heads * cfg.dHead;
  const scale = 1 / Math.sqrt(cfg.dHead);
  const causal = cfg.mask && !cfg.cross;
  return Array.from({ length: cfg.heads }, (_, h) => {
    const out = new Float32Array(cfg.seq * cfg.kvSeq);
    for (let i = 0; i < cfg.seq; i++) {
      for (let j = 0; j < cfg.kvSeq; j++) {
        if (causal && j > i) {
          out[i * cfg.kvSeq + j] = -Infinity;
          continue;
        }
        let s = 0;
        for (let e = 0; e < cfg.dHead; e++) s += q[i * inner + h * cfg.dHead + e]! * k[j * inner + h * cfg.dHead + e]!;
        out[i * cfg.kvSeq + j] = s * scale;
      }
    }
    return out;
  });
}
