// A Hugging Face checkpoint's file names and its shard index (model.safetensors.index.json),
// read the same way by the CLI (src/node/checkpoint.ts, files on disk) and the page
// (web/checkpoint-files.ts, File objects). Pure TypeScript (no Node imports).

import { CheckpointError } from './checkpoint-config.js';
import { escapeUntrusted } from './escape.js';

export const CONFIG_FILE = 'config.json';
export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
/** JSON files read whole: config.json is a few KB, tokenizer.json a few MB (GPT-2's 1.4 MB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * model.safetensors.index.json's weight_map (tensor → shard file name). A shard must be a plain
 * file name in the folder: a path ('../x', '/etc/x', 'a/b') is refused, never opened.
 */
export function parseIndex(text: string, what = INDEX_FILE): Map<string, string> {
  const where = escapeUntrusted(what, 100, 'end');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${where}: not valid JSON (${escapeUntrusted((e as Error).message, 120)})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new CheckpointError(`${where}: no weight_map object (tensor name → shard file)`);
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string') throw new CheckpointError(`${where}: weight_map gives tensor '${escapeUntrusted(name, 64)}' a shard that is not a file name`);
    if (shard === '' || shard === '.' || shard === '..' || /[/\\\0]/.test(shard)) {
      throw new CheckpointError(`${where}: shard '${escapeUntrusted(shard, 80)}' (for tensor '${escapeUntrusted(name, 64)}') is not a file name in the checkpoint's folder`);
    }
    out.set(name, shard);
  }
  if (out.size === 0) throw new CheckpointError(`${where}: weight_map is empty`);
  return out;
}

/** What the index's shard mapping needs of an opened shard. */
export interface ShardFile {
  has(name: string): boolean;
  readonly parsed: { readonly tensors: ReadonlyMap<string, unknown> };
}

export interface IndexShards<F> {
  /** Each tensor of the index → the shard file that holds it. */
  where: Map<string, F>;
  /** A note when the shards hold tensors the index does not list (they are not read). */
  notes: string[];
}

/**
 * Maps the index's tensors to their shards, for the CLI (files on disk, opened synchronously) and the page (File
 * objects, opened asynchronously) alike: each shard name it yields, at the first tensor naming it, is answered with
 * that shard opened, or null when the folder has no such file (refused, naming the tensor). A shard that does not
 * hold a tensor the index gives it is refused. The caller opens (and on a refusal closes) the files.
 */
export function* mapIndexShards<F extends ShardFile>(map: Map<string, string>, indexPath: string, folder: string): Generator<string, IndexShards<F>, F | null> {
  const at = escapeUntrusted(indexPath, 100, 'end');
  const byShard = new Map<string, F>();
  const where = new Map<string, F>();
  for (const [name, shard] of map) {
    let file = byShard.get(shard);
    if (!file) {
      const opened = yield shard;
      if (!opened) throw new CheckpointError(`${at}: names shard '${escapeUntrusted(shard, 80)}' (for tensor '${escapeUntrusted(name, 64)}'), which is not in ${folder}`);
      file = opened;
      byShard.set(shard, file);
    }
    if (!file.has(name)) throw new CheckpointError(`${at}: maps tensor '${escapeUntrusted(name, 64)}' to shard '${escapeUntrusted(shard, 80)}', which does not hold it`);
    where.set(name, file);
  }
  const unlisted = [...byShard.values()].flatMap((f) => [...f.parsed.tensors.keys()].filter((n) => where.get(n) !== f));
  const notes = unlisted.length ? [`${folder}: ${unlisted.length} tensors in the shards are not in ${INDEX_FILE} and are not read, e.g. '${escapeUntrusted(unlisted[0]!, 64)}'`] : [];
  return { where, notes };
}
