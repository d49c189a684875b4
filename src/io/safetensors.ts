// safetensors: an 8-byte little-endian u64 header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}},
// then the data area; data_offsets are relative to the data area's start (8 + N).
// Pure TypeScript (no Node imports) so it also runs in a browser or a Web Worker.

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
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
  tensors: Map<string, TensorInfo>;
  /** Byte offset of the data area: 8 + header length. */
  dataStart: number;
  metadata: Record<string, string>;
}

/** Bytes per element of every dtype the format defines. */
export const DTYPE_SIZE: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
});

/** The reference implementation refuses headers over 100 MB; so do we (guards absurd lengths). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

/**
 * Length N of the JSON header, from the first 8 bytes of a file. With it a caller can read
 * only bytes [0, 8 + N) of a huge file and pass them to parseSafetensorsHeader with the file size.
 */
export function headerLength(prefix: Uint8Array, what = 'file'): number {
  if (prefix.length < 8) {
    throw new SafetensorsError(`${what}: ${prefix.length} bytes is shorter than the 8-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(`${what}: header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  return Number(n);
}

/**
 * Parses and validates the header. `bytes` holds the whole file, or at least its first
 * 8 + N bytes when `fileSize` (the whole file's size) is given.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, what = 'file', fileSize = bytes.length): ParsedSafetensors {
  const n = headerLength(bytes, what);
  const dataStart = 8 + n;
  if (dataStart > fileSize) {
    throw new SafetensorsError(`${what}: header length ${n} exceeds the file size ${fileSize} (at most ${Math.max(0, fileSize - 8)} bytes after the 8-byte prefix)`);
  }
  if (dataStart > bytes.length) {
    throw new SafetensorsError(`${what}: header length ${n} exceeds the ${bytes.length} bytes given (pass at least 8 + ${n})`);
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${what}: header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) throw new SafetensorsError(`${what}: header must be a JSON object`);

  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(entry, what);
      continue;
    }
    tensors.set(name, parseEntry(name, entry, what, dataStart, dataSize));
  }
  checkOverlaps([...tensors.values()], what);
  return { tensors, dataStart, metadata };
}

function parseMetadata(entry: unknown, what: string): Record<string, string> {
  if (!isPlainObject(entry)) throw new SafetensorsError(`${what}: "${METADATA_KEY}" must be an object of strings`);
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(`${what}: "${METADATA_KEY}".${k} must be a string, got ${JSON.stringify(v)}`);
    }
  }
  return { ...(entry as Record<string, string>) };
}

function parseEntry(name: string, entry: unknown, what: string, dataStart: number, dataSize: number): TensorInfo {
  const where = `${what}: tensor '${name}'`;
  if (!isPlainObject(entry)) throw new SafetensorsError(`${where}: entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new SafetensorsError(`${where}: missing or non-string "dtype"`);
  const size = DTYPE_SIZE[dtype];
  if (size === undefined) {
    throw new SafetensorsError(`${where}: unknown dtype ${dtype} (known: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape)) throw new SafetensorsError(`${where}: missing or non-array "shape"`);
  for (const d of shape) {
    if (!isIndex(d)) throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw new SafetensorsError(`${where}: "data_offsets" must be [begin, end] of non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] has begin > end`);
  if (end > dataSize) {
    throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] exceed the data area of ${dataSize} bytes`);
  }
  const expected = product(shape as number[]) * size;
  if (end - begin !== expected) {
    throw new SafetensorsError(
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} shape [${(shape as number[]).join(', ')}] needs ${expected}`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], begin: dataStart + begin, end: dataStart + end };
}

function checkOverlaps(infos: TensorInfo[], what: string): void {
  // Empty tensors occupy no bytes and cannot overlap anything.
  const sorted = infos.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.begin < a.end) {
      throw new SafetensorsError(`${what}: tensors '${a.name}' and '${b.name}' overlap (bytes ${b.begin}..${a.end} of the file)`);
    }
  }
}

/** The header entry of an F32 tensor, checked for presence, dtype and shape (no data read). */
export function f32TensorInfo(parsed: ParsedSafetensors, name: string, expectedShape?: number[], what = 'file'): TensorInfo {
  const info = parsed.tensors.get(name);
  if (!info) {
    const names = [...parsed.tensors.keys()];
    const shown = names.slice(0, 8).map((s) => `'${s}'`).join(', ');
    const more = names.length > 8 ? `, … (${names.length} in all)` : '';
    throw new SafetensorsError(`${what}: no tensor '${name}'; it has ${names.length ? shown + more : 'no tensors'}`);
  }
  if (info.dtype !== 'F32') throw new SafetensorsError(`${what}: tensor '${name}' has dtype ${info.dtype}, expected F32`);
  if (expectedShape && !sameShape(info.shape, expectedShape)) {
    throw new SafetensorsError(`${what}: tensor '${name}' has shape [${info.shape.join(', ')}], expected [${expectedShape.join(', ')}]`);
  }
  return info;
}

/**
 * One F32 tensor as an aligned Float32Array copy (the data in the file may sit at any
 * byte offset), checked for dtype, shape and finite values.
 */
export function getF32(
  bytes: Uint8Array,
  parsed: ParsedSafetensors,
  name: string,
  expectedShape?: number[],
  what = 'file',
): Float32Array {
  const info = f32TensorInfo(parsed, name, expectedShape, what);
  if (info.end > bytes.length) {
    throw new SafetensorsError(`${what}: tensor '${name}' ends at byte ${info.end} but only ${bytes.length} bytes were given`);
  }
  const out = decodeF32(bytes.subarray(info.begin, info.end));
  assertFinite(name, out, what);
  return out;
}

/** Little-endian f32 bytes to a fresh, aligned Float32Array. */
export function decodeF32(raw: Uint8Array): Float32Array {
  const out = new Float32Array(raw.length >>> 2);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(raw.subarray(0, out.length * 4));
  } else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/** Throws naming the tensor and the first NaN/Inf: a poisoned weight would spoil every comparison. */
export function assertFinite(name: string, data: ArrayLike<number>, what = 'file'): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      throw new SafetensorsError(`${what}: tensor '${name}' has a non-finite value ${v} at index ${i}`);
    }
  }
}

/**
 * F32 tensors to safetensors bytes, in the given order; the header is padded with spaces
 * so the data area starts at a multiple of 8 bytes, as the reference implementation does.
 */
export function serializeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header[METADATA_KEY] = { ...metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA_KEY) throw new SafetensorsError(`tensor name ${METADATA_KEY} is reserved`);
    if (!t.shape.every((d) => isIndex(d))) throw new SafetensorsError(`tensor '${name}': shape [${t.shape.join(', ')}] is not non-negative integers`);
    const count = product(t.shape);
    if (t.data.length !== count) {
      throw new SafetensorsError(`tensor '${name}': shape [${t.shape.join(', ')}] needs ${count} values, got ${t.data.length}`);
    }
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i]!, true);
  }
  return out;
}

/** Tensor names of the model's layout (PyTorch Linear: weight [out, in], bias [out]). */
export const weightName = (layer: number, proj: 'q' | 'k' | 'v' | 'o', kind: 'weight' | 'bias' = 'weight'): string =>
  `layers.${layer}.self_attn.${proj}_proj.${kind}`;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
