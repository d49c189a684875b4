// The status area (an aria-live region: progress and verification are announced) and the state
// of earlier results: marked stale while a new run goes, removed when an error invalidates them.

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export type VerificationState = 'idle' | 'pending' | 'passed' | 'failed' | 'refused' | 'skipped';

export function setVerification(kind: VerificationState, text: string): void {
  const el = $('verification');
  el.dataset.state = kind;
  el.textContent = text;
}

/** Progress: `value` null makes the bar indeterminate (compiling shaders: no layer to count yet). */
export function setProgress(text: string, value?: number | null, max?: number): void {
  const bar = $<HTMLProgressElement>('progress');
  if (max !== undefined) bar.max = max;
  if (value === null) bar.removeAttribute('value');
  else if (value !== undefined) bar.value = value;
  $('progress-text').textContent = text;
}

const RESULT_SECTIONS = ['results', 'patterns', 'bench', 'chapter-panel', 'next-tokens', 'generation'];

/** While a new run goes, the previous results stay visible but marked as the previous run's. */
export function markStale(): void {
  for (const id of RESULT_SECTIONS) {
    const el = $(id);
    if (!el.hidden) el.dataset.stale = 'true';
  }
  $('cell-tip').hidden = true;
  $('cell-focus').hidden = true;
}

export function unmarkStale(id: string): void {
  delete $(id).dataset.stale;
}

/** An error invalidates what was shown: hide it (window.webgpuAttention.lastRun keeps the last finished run). */
export function clearResults(): void {
  for (const id of RESULT_SECTIONS) {
    const el = $(id);
    el.hidden = true;
    delete el.dataset.stale;
  }
}

/** A ticking "compiling shaders… 3.1 s" until `stop` is called. */
export function compileTicker(prefix: string): () => number {
  const start = performance.now();
  const tick = () => setProgress(`${prefix}compiling shaders and allocating buffers… ${((performance.now() - start) / 1000).toFixed(1)} s`, null);
  tick();
  const timer = setInterval(tick, 200);
  return () => {
    clearInterval(timer);
    return performance.now() - start;
  };
}
