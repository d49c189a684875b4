// What a drop holds, when it is a checkpoint: a folder (its own files, read through the entry
// API: DataTransfer.files lists a dropped folder as one empty "file"), or several files
// (config.json, the safetensors files, tokenizer.json). One plain file is a weights file instead.

import { droppedFiles, type CheckpointFiles } from './checkpoint-files.js';

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    // readEntries gives a batch at a time (100 in Chromium) until an empty one.
    const next = () => reader.readEntries((batch) => {
      if (batch.length === 0) resolve(out);
      else {
        out.push(...batch);
        next();
      }
    }, reject);
    next();
  });
}

const fileOf = (entry: FileSystemFileEntry): Promise<File> => new Promise((resolve, reject) => entry.file(resolve, reject));

/** A checkpoint's files from a drop, or null when the drop is one plain file (a weights file). Call it inside the drop event. */
export function droppedCheckpoint(dt: DataTransfer | null): Promise<CheckpointFiles> | null {
  if (!dt) return null;
  // Entries must be taken while the event runs; the files are read after.
  const entries = [...dt.items].filter((i) => i.kind === 'file').map((i) => i.webkitGetAsEntry?.() ?? null);
  const folder = entries.length === 1 && entries[0]?.isDirectory ? (entries[0] as FileSystemDirectoryEntry) : null;
  if (folder) {
    return readAll(folder.createReader()).then(async (children) => ({
      label: folder.name,
      files: await Promise.all(children.filter((c): c is FileSystemFileEntry => c.isFile).map(fileOf)),
    }));
  }
  const files = [...dt.files];
  if (files.length <= 1) return null;
  return Promise.resolve(droppedFiles(files));
}
