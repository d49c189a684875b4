// The next-token distribution of a model run's last position: softmax of RunResult.logits in
// float64, the best `top` ids first with their text. The CLI (`run --model`) and the page share it.

import type { TextTokenizer } from '../io/checkpoint-tokenizer.js';

export interface NextToken {
  id: number;
  /** The token's text from the tokenizer (raw: escape before printing); null without a tokenizer or for an id it lacks (a padded vocabulary's rows). */
  text: string | null;
  /** Its probability under softmax(logits), computed in float64. */
  p: number;
}

/** The `top` most likely next tokens, best first (ties by id), from the last position's logits. */
export function nextTokens(logits: Float32Array, top: number, tokenizer: TextTokenizer | null): NextToken[] {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  // A partial selection: the best `top` ids, kept sorted.
  const best: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (best.length === top && v <= logits[best[top - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && logits[best[at - 1]!]! < v) at--;
    best.splice(at, 0, i);
    if (best.length > top) best.pop();
  }
  return best.map((id) => ({ id, text: tokenizer?.has(id) ? tokenizer.decode([id]) : null, p: Math.exp(logits[id]! - max) / sum }));
}
