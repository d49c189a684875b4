// Every failure ends in the #error element with what went wrong and what to do, in the page's
// own words: field labels, never the CLI's flags; browsers and settings, never a repository
// script. A blank page or a silently dead button is the one outcome the page must never have.

import { ConfigError, GpuError, InputError, SafetensorsError } from '../src/index.js';
import { CheckpointError } from '../src/io/checkpoint-config.js';

/** A failure found by the page itself (no WebGPU, a run too large for a software adapter, a refused file). */
export class PageError extends Error {
  constructor(
    message: string,
    readonly kind: string,
    /** An action the error box offers as a button: [label, what it does]. */
    readonly action?: [string, () => void],
  ) {
    super(message);
    this.name = 'PageError';
  }
}

const BROWSERS =
  'WebGPU runs in Chrome and Edge 113 or later (Windows, macOS, ChromeOS; Android 12+ from version 121), Safari 26 ' +
  '(macOS, iOS, iPadOS) and Firefox 141 or later on Windows. On Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu ' +
  '(and #enable-vulkan). Graphics acceleration must be on: Settings → System → "Use graphics acceleration when available".';

export function noWebGpuMessage(): string {
  const secure = window.isSecureContext ? '' : ' This page is not served over https:// or from localhost, and WebGPU needs a secure page.';
  return `This browser does not offer WebGPU, so nothing can run here.${secure} ${BROWSERS}`;
}

export function noAdapterMessage(): string {
  return (
    'This browser has WebGPU but offers no GPU adapter to it: its GPU or driver may be blocklisted, or graphics acceleration is off. ' +
    'Check chrome://gpu (or about:support in Firefox), turn on "Use graphics acceleration when available", update the browser and ' +
    `the graphics driver, or try another browser. ${BROWSERS}`
  );
}

/** The form's labels for the engine's dimension names (CLI flags in its messages). */
const LABELS: Record<string, string> = {
  '--layers': 'layers', '--heads': 'heads', '--d-model': 'd_model', '--d-head': 'd_head', '--seq': 'tokens (seq)',
  '--kv-seq': 'context tokens', '--max-seq': 'context length', '--cross': 'cross-attention', '--bias': 'biases',
  '--norm': 'normalisation', '--decode': 'tokens (Generate)', '--temperature': 'temperature', '--precision': 'precision', '--attention fused': 'attention “fused”', '--attention': 'attention', '--seed': 'seed',
};

/** Rewrites an engine message for the page: flags become the form's quoted field labels, "got NaN" an empty field. */
export function pageWords(message: string): string {
  return message
    .replace(/--attention fused|--[a-z][a-z-]*/g, (flag) => (LABELS[flag] ? `“${LABELS[flag]}”` : flag))
    .replace(/got NaN/g, 'got an empty or non-numeric value')
    .replace(/ \(--seq × --d-model\)| \(--kv-seq × --d-model\)/g, '');
}

export function describeError(e: unknown): { kind: string; text: string } {
  // A checkpoint's refusals are the CLI's own one-line messages (names from the files escaped there).
  if (e instanceof CheckpointError) return { kind: 'CheckpointError', text: `The checkpoint was refused: ${e.message}` };
  if (e instanceof SafetensorsError) return { kind: 'SafetensorsError', text: `The checkpoint was refused: ${e.message}` };
  if (e instanceof ConfigError) return { kind: 'ConfigError', text: `Configuration error: ${pageWords(e.message)}` };
  if (e instanceof InputError) return { kind: 'InputError', text: `Over the limits: ${pageWords(e.message)}` };
  if (e instanceof GpuError) {
    if (e.kind === 'no-adapter') return { kind: 'GpuError:no-adapter', text: noAdapterMessage() };
    const hint =
      e.kind === 'lost'
        ? '\nThe GPU device was lost (driver reset, out of memory, or the tab was backgrounded too long). Press Run to start on a new device.'
        : e.kind === 'out-of-memory'
          ? '\nTry fewer heads, fewer tokens or a smaller d_model.'
          : '';
    return { kind: `GpuError:${e.kind}`, text: `GPU error (${e.kind}): ${pageWords(e.message)}${hint}` };
  }
  if (e instanceof PageError) return { kind: e.kind, text: e.message };
  if (e instanceof Error) return { kind: e.name, text: `${e.name}: ${pageWords(e.message)}` };
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
  el.replaceChildren(text);
  if (e instanceof PageError && e.action) {
    const button = document.createElement('button');
    button.type = 'button';
    button.id = 'error-action';
    button.textContent = e.action[0];
    button.onclick = e.action[1];
    el.append(' ', button);
  }
  el.dataset.kind = kind;
  el.hidden = false;
  console.error(e);
}

export function clearError(): void {
  const el = document.getElementById('error');
  if (!el) return;
  el.hidden = true;
  el.replaceChildren();
  delete el.dataset.kind;
}
