// Parsing and checking a safetensors header against every rule of the format (safetensors.ts
// lists them): the scanner reads the grammar, then each entry and the coverage of the data area.

import { DTYPE_SIZE, fail, MAX_HEADER_BYTES, quoteName, elementCount, shortList, type ParsedSafetensors, type TensorInfo } from './safetensors-core.js';
import { firstInvalidUtf8, HeaderScanner, type RawEntry } from './safetensors-header.js';

/**
 * Length N of the JSON header, from the first 8 bytes of a file. With it a caller can read
 * only bytes [0, 8 + N) of a huge file and pass them to parseSafetensorsHeader with the file size.
 */
export function headerLength(prefix: Uint8Array, what = 'file'): number {
  if (prefix.length < 8) {
    fail(what, 'prefix', `${prefix.length} bytes is shorter than the 8-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(what, 'header-size', `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  return Number(n);
}

/**
 * Parses and validates the header against every rule of the format. `bytes` holds the whole
 * file, or at least its first 8 + N bytes when `fileSize` (the whole file's size) is given.
 * `what` names the file in messages (a path; it is escaped there).
 */
export function parseSafetensorsHeader(bytes: Uint8Array, what = 'file', fileSize = bytes.length): ParsedSafetensors {
  const n = headerLength(bytes, what);
  const dataStart = 8 + n;
  if (dataStart > fileSize) {
    fail(what, 'header-size', `header length ${n} exceeds the file size ${fileSize} (at most ${Math.max(0, fileSize - 8)} bytes after the 8-byte prefix)`);
  }
  if (dataStart > bytes.length) {
    fail(what, 'header-size', `header length ${n} exceeds the ${bytes.length} bytes given (pass at least 8 + ${n})`);
  }
  const raw = bytes.subarray(8, dataStart);
  if (raw.length === 0) fail(what, 'header-start', 'the header is empty; it must be a JSON object beginning with {');
  if (raw[0] !== 0x7b) {
    const found = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 'a UTF-8 byte order mark'
      : `byte 0x${raw[0]!.toString(16).padStart(2, '0')}`;
    fail(what, 'header-start', `the header must begin with { (0x7b), found ${found}`);
  }
  let text: string;
  try {
    // ignoreBOM: a BOM would be kept, not stripped (it is refused above in any case).
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    fail(what, 'header-utf8', `the header is not valid UTF-8 (at or after byte ${firstInvalidUtf8(raw) + 8} of the file)`);
  }
  const dataSize = fileSize - dataStart;
  const { entries, metadata } = new HeaderScanner(text, what).header();

  const tensors = new Map<string, TensorInfo>();
  for (const e of entries) tensors.set(e.name, checkEntry(e, what, dataStart, dataSize));
  checkCoverage([...tensors.values()], what, dataStart, dataSize);
  return { tensors, dataStart, dataSize, metadata };
}

/** Checks one entry's dtype, shape and offsets against each other and the data area. */
function checkEntry(e: RawEntry, what: string, dataStart: number, dataSize: number): TensorInfo {
  const { name } = e;
  for (const field of ['dtype', 'shape', 'data_offsets'] as const) {
    if ((field === 'data_offsets' ? e.offsets : e[field]) === undefined) {
      fail(what, 'entry', `the entry lacks "${field}" (an entry is {dtype, shape, data_offsets})`, name);
    }
  }
  const dtype = e.dtype!, shape = e.shape!, offsets = e.offsets!;
  const size = DTYPE_SIZE[dtype];
  if (size === undefined) {
    fail(what, 'dtype', `unknown dtype ${quoteName(dtype)} (known: ${Object.keys(DTYPE_SIZE).join(', ')})`, name);
  }
  if (offsets.length !== 2) {
    fail(what, 'offsets', `"data_offsets" must be [begin, end], got ${offsets.length} numbers`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(what, 'offsets', `data_offsets [${begin}, ${end}] has begin > end`, name);
  const count = elementCount(shape);
  const expected = count === null ? null : count * size;
  if (expected === null || !Number.isSafeInteger(expected)) {
    fail(what, 'byte-length', `${dtype} shape [${shortList(shape)}] has more bytes than a safe integer holds`, name);
  }
  if (end - begin !== expected) {
    fail(what, 'byte-length', `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} shape [${shortList(shape)}] needs ${expected}`, name);
  }
  if (end > dataSize) {
    fail(what, 'out-of-bounds', `data_offsets [${begin}, ${end}] exceed the data area of ${dataSize} bytes`, name);
  }
  return { name, dtype, shape, begin: dataStart + begin, end: dataStart + end };
}

/**
 * Sorted by offset, the tensors must tile the data area: the first starts at byte 0, each starts
 * where the previous ends, the last ends at the end of the file (no hole, overlap or trailing byte:
 * bytes no tensor owns could hide a second file, and trailing bytes are what a header length a
 * few bytes short leaves).
 */
function checkCoverage(infos: TensorInfo[], what: string, dataStart: number, dataSize: number): void {
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataStart;
  let previous: TensorInfo | null = null;
  for (const t of sorted) {
    const rel = (x: number) => x - dataStart;
    if (t.begin > cursor) {
      if (!previous) {
        fail(what, 'data-start', `the first tensor by offset starts at byte ${rel(t.begin)} of the data area; tensors must start at byte 0`, t.name);
      }
      fail(what, 'hole', `data_offsets [${rel(t.begin)}, ${rel(t.end)}] leave a hole of ${t.begin - cursor} bytes after ${quoteName(previous.name)}, which ends at ${rel(cursor)} (tensors must cover the data area with no hole)`, t.name);
    }
    if (t.begin < cursor) {
      fail(what, 'overlap', `data_offsets [${rel(t.begin)}, ${rel(t.end)}] overlap ${quoteName(previous!.name)} [${rel(previous!.begin)}, ${rel(previous!.end)}]`, t.name);
    }
    cursor = t.end;
    previous = t;
  }
  const covered = cursor - dataStart;
  if (covered !== dataSize) {
    const after = previous ? `after the last tensor ${quoteName(previous.name)}` : 'and no tensor owns them';
    fail(what, 'trailing-bytes', `the data area holds ${dataSize - covered} bytes ${after} (tensors must cover it exactly; a header length too short leaves such bytes)`);
  }
}
