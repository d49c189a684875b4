// A checkpoint in the page: opened once (headers, config.json, tokenizer.json), its text
// tokenized with its own tokenizer and checked as the CLI checks --text, its description, and the
// next-token list of a finished run.

import { CheckpointError } from '../src/io/checkpoint-config.js';
import { TOKENIZER_FILE } from '../src/io/checkpoint-index.js';
import { checkTokens, type TextTokenizer } from '../src/io/checkpoint-tokenizer.js';
import { escapeUntrusted } from '../src/io/escape.js';
import { formatBytes } from '../src/index.js';
import type { NextToken } from '../src/model/next-tokens.js';
import { droppedFiles, PageCheckpoint, pickedFolder, type CheckpointFiles } from './checkpoint-files.js';
import type { Tokens } from './tokens.js';

export interface LoadedCheckpoint {
  checkpoint: PageCheckpoint;
  tokenizer: TextTokenizer | null;
  /** Milliseconds to open it: every header, config.json, tokenizer.json read and the tokenizer built. */
  openMs: number;
}

export async function loadCheckpoint(files: CheckpointFiles): Promise<LoadedCheckpoint> {
  const started = performance.now();
  const checkpoint = await PageCheckpoint.open(files);
  const tokenizer = checkpoint.tokenizer();
  return { checkpoint, tokenizer, openMs: performance.now() - started };
}

/** The text through the checkpoint's tokenizer (what it adds included), refused as the CLI refuses --text. */
export function checkpointTokens(c: LoadedCheckpoint, text: string): Tokens & { tokens: Uint32Array } {
  if (!c.tokenizer) {
    throw new CheckpointError(`The text needs the checkpoint's ${TOKENIZER_FILE}, which ${c.checkpoint.folder} lacks: add it to the files`);
  }
  const ids = c.tokenizer.encode(text);
  const tokens = checkTokens(ids, c.checkpoint.config, 'the text');
  return { ids, strings: ids.map((id) => c.tokenizer!.decode([id])), tokens };
}

/** One line: what was opened. */
export function describeCheckpoint(c: LoadedCheckpoint): string {
  const k = c.checkpoint;
  const cfg = k.config;
  const family = cfg.family === 'gpt2' ? 'GPT-2' : 'OPT';
  return `${escapeUntrusted(k.source.label, 80)}: ${family}, ${cfg.layers} layers × ${cfg.heads} heads of ${cfg.dHead}, d_model ${cfg.dModel}, ` +
    `MLP ${cfg.ffn} (${cfg.activation}), vocabulary ${cfg.vocab}, context ${cfg.positions}; ${k.files.length} safetensors file(s), ` +
    `${formatBytes(k.bytes)}, ${k.dtypes()}; ${c.tokenizer ? 'tokenizer.json' : 'no tokenizer.json'}; opened in ${(c.openMs / 1000).toFixed(2)} s. ` +
    k.notes.join(' ');
}

/**
 * Wires the folder picker and the files picker; returns `take`, which opens a checkpoint from any
 * source (a drop too). `onLoad` gets the opened checkpoint, or null when opening failed (after
 * `onError` got why); `info` says what is being opened, then what was.
 */
export function wireCheckpointInputs(folderInput: HTMLInputElement, filesInput: HTMLInputElement, info: HTMLElement,
  onLoad: (loaded: LoadedCheckpoint | null) => void, onError: (e: unknown) => void): (files: CheckpointFiles | Promise<CheckpointFiles>) => Promise<void> {
  const take = async (files: CheckpointFiles | Promise<CheckpointFiles>) => {
    try {
      info.textContent = 'opening the checkpoint: reading config.json, every safetensors header and tokenizer.json…';
      const loaded = await loadCheckpoint(await files);
      info.textContent = describeCheckpoint(loaded);
      onLoad(loaded);
    } catch (e) {
      info.textContent = '';
      onLoad(null);
      onError(e);
    }
  };
  folderInput.addEventListener('change', () => {
    if (folderInput.files?.length) void take(pickedFolder(folderInput.files));
  });
  filesInput.addEventListener('change', () => {
    if (filesInput.files?.length) void take(droppedFiles(filesInput.files, 'picked'));
  });
  return take;
}

/** The next-token table: rank, id, the token's text (escaped: a newline shows as \n) and its probability. */
export function renderNextTokens(next: NextToken[] | null, note: string): void {
  const section = document.getElementById('next-tokens')!;
  section.hidden = false;
  delete section.dataset.stale;
  document.getElementById('next-note')!.textContent = note;
  const table = document.getElementById('next-table') as HTMLTableElement;
  const head = document.createElement('tr');
  for (const h of ['#', 'id', 'text', 'p']) head.appendChild(document.createElement('th')).textContent = h;
  table.replaceChildren(head, ...(next ?? []).map((t, i) => {
    const tr = document.createElement('tr');
    tr.dataset.id = String(t.id);
    for (const v of [String(i + 1), String(t.id), t.text === null ? '(no tokenizer)' : `“${escapeUntrusted(t.text, 40)}”`, t.p.toFixed(4)]) {
      tr.appendChild(document.createElement('td')).textContent = v;
    }
    return tr;
  }));
}
