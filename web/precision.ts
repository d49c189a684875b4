// The two storage choices beside the shape: normalisation (GPT-3's pre-LayerNorm, or the
// chapter's bare block) and precision (f32, or f16 storage with f32 accumulation). f16 needs
// the adapter feature shader-f16: once the adapter is known the precision select is disabled,
// with the reason beside it, where the adapter lacks it, and an f16 configuration (a link asking
// precision=f16) gets the page's own message instead of a run.

import type { Engine } from '../src/index.js';
import { PageError } from './errors.js';
import { adapterLabel } from './run.js';

/** What the adapter offers, once it is known (null before). */
let f16: { offered: boolean; adapter: string } | null = null;

const select = () => document.querySelector<HTMLSelectElement>('#config select[name=precision]')!;

/** Why f16 cannot run here, or null (offered, or the adapter not known yet); `value`: the precision asked. */
export function f16Missing(value = 'f32'): string | null {
  if (!f16 || f16.offered) return null;
  return `f16 needs the adapter feature shader-f16, which ${f16.adapter} does not offer: ${value === 'f16' ? 'choose f32 to run here' : 'runs here are f32'}.`;
}

/**
 * Shows the precision in the select: the f16 option is disabled where the adapter lacks
 * shader-f16, and the whole select too while it says f32 (a link's f16, or a typo, can still be undone).
 */
export function showPrecision(value: string): void {
  const s = select();
  const missing = f16Missing(value);
  s.value = value;
  s.querySelector<HTMLOptionElement>('option[value=f16]')!.disabled = missing !== null;
  s.disabled = missing !== null && value === 'f32';
  s.title = missing ?? '';
  const note = document.getElementById('precision-note')!;
  note.textContent = missing ?? '';
  note.hidden = missing === null;
}

/**
 * The adapter is known: shows it, records whether it offers shader-f16 and updates the select.
 * Returns the page's refusal when `precision` is f16 and the adapter cannot run it (else null);
 * its button switches to f32 (`toF32`).
 */
export function adapterReady(engine: Engine, precision: string | undefined, toF32: () => void): PageError | null {
  document.getElementById('adapter')!.textContent = `adapter: ${adapterLabel(engine)}`;
  f16 = { offered: engine.gpu.hasF16, adapter: engine.adapter.name };
  showPrecision(select().value);
  if (precision !== 'f16' || f16.offered) return null;
  return new PageError(
    `“precision” f16 needs the adapter feature shader-f16, which ${f16.adapter} does not offer, so nothing was run. ` +
      'Choose f32, or open the page on a GPU whose browser offers shader-f16 (Chrome and Edge offer it on many desktop GPUs; software adapters do not).',
    'no-f16',
    ['Use f32', toF32],
  );
}
