// The tuned choices' keys and their store: a JSON text `{ version, entries: { key: entry } }` that the caller keeps
// (src/node/tune-store.ts keeps it in a file; the page keeps none). The matmul tiles (matmul.ts) and the attention
// cores (attention.ts) each keep their entries here under their own version.

import type { AdapterDescription } from '../gpu/device.js';
import type { Precision } from '../gpu/precision.js';

export const adapterKey = (a: Pick<AdapterDescription, 'vendor' | 'architecture' | 'device' | 'description'>): string =>
  [a.vendor, a.architecture, a.device, a.description].join('|');

/** The key of a tuned choice: the adapter's, with `|f16` for f16 storage (f32 keeps the bare key). */
export const tuneKey = (a: Pick<AdapterDescription, 'vendor' | 'architecture' | 'device' | 'description'>, precision: Precision = 'f32'): string =>
  precision === 'f16' ? `${adapterKey(a)}|f16` : adapterKey(a);

/** Where the tuned choice is kept between processes: the caller reads and writes the text. */
export interface TuneStore {
  load(): string | null;
  save(text: string): void;
}

/**
 * A store's text is `{ version, entries: { key: entry } }`. The entries of the right version, or
 * none (no store, another version, unreadable text: rewritten by the next save).
 */
export function readTuneEntries<T>(store: TuneStore | undefined, version: number): Record<string, T> {
  try {
    const parsed = JSON.parse(store?.load() ?? '') as { version?: number; entries?: Record<string, T> };
    return parsed.version === version && parsed.entries ? parsed.entries : {};
  } catch {
    return {};
  }
}

/** Sets one entry of a store (read, modified, written whole), keeping the others of its version. */
export function saveTuneEntry<T>(store: TuneStore | undefined, version: number, key: string, entry: T): void {
  if (!store) return;
  const entries = readTuneEntries<T>(store, version);
  entries[key] = entry;
  store.save(JSON.stringify({ version, entries }, null, 2));
}
