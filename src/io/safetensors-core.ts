// safetensors, shared parts: the errors and their rules, the parsed types, message helpers.
// The format: an 8-byte little-endian u64 header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}},
// then the data area; data_offsets are relative to the data area's start (8 + N).
// Pure TypeScript (no Node imports) so it also runs in a browser or a Web Worker.
//
// The reader is strict: a file is accepted only when it follows every rule of the format
// (https://github.com/huggingface/safetensors, "Format"), because a file that bends one (a header
// length a few bytes short, a duplicate name, a hole between tensors) is read wrong by some
// reader, silently. The rules, each refused with its own SafetensorsError.rule:
//   prefix          the file holds at least the 8-byte header length
//   header-size     N ≤ 100,000,000 and 8 + N ≤ the file size
//   header-start    the header begins with '{' (no BOM, no whitespace before it)
//   header-utf8     the header is valid UTF-8
//   header-json     the header is valid JSON (strings without lone surrogate escapes)
//   header-padding  after the closing '}' only spaces (0x20)
//   nesting         a flat object of entries: {name: {dtype, shape: [..], data_offsets: [..]}},
//                   nothing nested deeper (checked while scanning, so depth never recurses)
//   duplicate-name  no tensor name (or __metadata__) twice, no metadata key twice
//   entry           an entry has exactly the fields dtype, shape and data_offsets, once each
//   metadata        __metadata__ is an object of string → string
//   dtype           a dtype of the format (DTYPE_SIZE)
//   shape           shape is an array of non-negative safe integers
//   offsets         data_offsets is [begin, end] of non-negative safe integers, begin ≤ end
//   byte-length     end − begin = product(shape) · dtype size
//   out-of-bounds   end ≤ the data area's size
//   data-start      sorted by offset, the tensors start at byte 0 of the data area
//   hole            … and each starts where the previous one ends (no hole)
//   overlap         … (no overlap)
//   trailing-bytes  … and the last one ends at the end of the file
// Reading adds: missing-tensor, tensor-dtype, tensor-shape, truncated, non-finite.
// Every message is one line of at most MAX_MESSAGE characters naming the file, the tensor and
// the rule; names, keys and paths are escaped (escapeUntrusted) and cut.

import { escapeControls, escapeUntrusted } from './escape.js';

export type SafetensorsRule =
  | 'prefix' | 'header-size' | 'header-start' | 'header-utf8' | 'header-json' | 'header-padding'
  | 'nesting' | 'duplicate-name' | 'entry' | 'metadata' | 'dtype' | 'shape' | 'offsets' | 'byte-length'
  | 'out-of-bounds' | 'data-start' | 'hole' | 'overlap' | 'trailing-bytes'
  | 'missing-tensor' | 'tensor-dtype' | 'tensor-shape' | 'truncated' | 'non-finite'
  | 'layer-set' | 'write' | 'format';

/** Longest message a SafetensorsError carries (one line). */
export const MAX_MESSAGE = 300;

export class SafetensorsError extends Error {
  /**
   * `rule`: which rule of the format (or of the model's naming) the file breaks;
   * `tensor`: the tensor concerned, raw (unescaped; escape it before printing).
   */
  constructor(message: string, readonly rule: SafetensorsRule = 'format', readonly tensor?: string) {
    // Parts quoted from a file are escaped where the message is built; this guard keeps any
    // message one printable line of bounded length whatever a caller passes.
    super(escapeControls(message, MAX_MESSAGE));
    this.name = 'SafetensorsError';
  }
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offsets into the file's bytes (data area start already added). */
  begin: number;
  end: number;
}

export interface ParsedSafetensors {
  /** In the header's order. */
  tensors: Map<string, TensorInfo>;
  /** Byte offset of the data area: 8 + header length. */
  dataStart: number;
  /** Size of the data area: the file size minus dataStart (the tensors cover it exactly). */
  dataSize: number;
  metadata: Record<string, string>;
}

/** Bytes per element of every byte-sized dtype the format defines (sub-byte F4/F6 are not read). */
export const DTYPE_SIZE: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
});

/**
 * Headers over 16 MiB are refused from the 8-byte length alone, before any of it is read. The
 * reference implementation allows 100 MB, but parsing that costs about 2 GB of memory, and real
 * checkpoints need far less (GPT-2's header: 15 kB; thousands of tensors: under 1 MB).
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
export const METADATA_KEY = '__metadata__';

/** A file's label in messages: escaped, long paths cut at the start (the file name stays). */
export const fileLabel = (what: string): string => escapeUntrusted(what, 100, 'end');
/** A tensor name or metadata key in messages, quoted: escaped, cut at 64 characters. */
export const quoteName = (name: string): string => `'${escapeUntrusted(name, 64)}'`;

export function fail(what: string, rule: SafetensorsRule, detail: string, tensor?: string, namedInDetail = false): never {
  const where = tensor === undefined || namedInDetail ? '' : `tensor ${quoteName(tensor)}: `;
  throw new SafetensorsError(`${fileLabel(what)}: ${where}${detail}`, rule, tensor);
}


export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** product(shape), or null past 2^53 (a zero dimension makes it 0 whatever the others). */
export function elementCount(shape: readonly number[]): number | null {
  if (shape.some((d) => d === 0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** A shape or list for messages: at most 8 entries. */
export function shortList(xs: readonly unknown[]): string {
  return xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, … (${xs.length} in all)`;
}

export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

export function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
