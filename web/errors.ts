// Every failure ends in the #error element with what went wrong and what to do: a blank page
// or a silently dead button is the one outcome the page must never have.

import { ConfigError, GpuError, InputError } from '../src/index.js';

/** A failure found by the page itself (no WebGPU, a run too large for a software adapter). */
export class PageError extends Error {
  constructor(
    message: string,
    readonly kind: string,
  ) {
    super(message);
    this.name = 'PageError';
  }
}

export function noWebGpuMessage(): string {
  const secure = window.isSecureContext ? '' : ' This page is not a secure context (WebGPU needs https:// or localhost).';
  return (
    'This browser has no WebGPU (navigator.gpu is undefined).' +
    secure +
    ' Use a recent Chrome, Edge or Firefox, or Safari 26; on Linux Chrome may need --enable-unsafe-webgpu.'
  );
}

export function describeError(e: unknown): { kind: string; text: string } {
  if (e instanceof ConfigError) return { kind: 'ConfigError', text: `Configuration error: ${e.message}` };
  if (e instanceof InputError) return { kind: 'InputError', text: `Over the limits: ${e.message}` };
  if (e instanceof GpuError) {
    const hint =
      e.kind === 'lost'
        ? '\nThe GPU device was lost (driver reset, out of memory, or the tab was backgrounded too long). Press Run to start on a new device.'
        : e.kind === 'out-of-memory'
          ? '\nTry fewer heads, a shorter seq or a smaller d-model.'
          : '';
    return { kind: `GpuError:${e.kind}`, text: `GPU error (${e.kind}): ${e.message}${hint}` };
  }
  if (e instanceof PageError) return { kind: e.kind, text: e.message };
  if (e instanceof Error) return { kind: e.name, text: `${e.name}: ${e.message}` };
  return { kind: 'unknown', text: String(e) };
}

export function showError(e: unknown): void {
  const el = document.getElementById('error');
  const { kind, text } = describeError(e);
  if (!el) {
    // The page itself failed to load: still say so rather than stay blank.
    document.body.textContent = text;
    return;
  }
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  console.error(e);
}

export function clearError(): void {
  const el = document.getElementById('error');
  if (!el) return;
  el.hidden = true;
  el.textContent = '';
  delete el.dataset.kind;
}
