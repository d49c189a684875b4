// The tester's findings against the old reader (1,433 mutations of a valid file: 14 read wrong,
// 20 more accepted against the format's rules), each kept as a small committed file. This module
// says how each file was made and which rule must refuse it; regressions.test.ts reads the
// committed files (and checks that this recipe still makes them byte for byte).
// Regenerate after a deliberate change: WRITE_REGRESSIONS=1 npx vitest run test/io/regressions.test.ts

import { serializeSafetensors, weightName, type SafetensorsRule } from '../../../src/io/safetensors.js';
import { seededArray, streamKey } from '../../../src/model/seeded.js';

export interface RegressionCase {
  file: string;
  /** What the tester saw with the old reader. */
  found: string;
  /** The rule that refuses it now. */
  rule: SafetensorsRule;
  /** Also in the message. */
  message: RegExp;
  /** 'header': parseSafetensorsHeader refuses it; 'layers': the header is valid, the layer set is not. */
  stage: 'header' | 'layers';
  bytes: () => Uint8Array;
}

const enc = new TextEncoder();

/** A file from header text (or an object), a data area and, optionally, a header length that lies. */
export function rawFile(header: string | object, data: Uint8Array | number, headerLength?: number, prefix: number[] = []): Uint8Array {
  const json = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = new Uint8Array(prefix.length + json.length);
  body.set(prefix);
  body.set(json, prefix.length);
  const dataBytes = typeof data === 'number' ? seededBytes(data) : data;
  const out = new Uint8Array(8 + body.length + dataBytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? body.length), true);
  out.set(body, 8);
  out.set(dataBytes, 8 + body.length);
  return out;
}

/** `n` bytes of seeded F32 values in [-1, 1) (none is 0x20202020, so no data byte run reads as padding). */
export function seededBytes(n: number, seed = 7): Uint8Array {
  const f = seededArray(streamKey(seed, 3), Math.ceil(n / 4), 1);
  return new Uint8Array(f.buffer, 0, n).slice();
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

/** A valid inputs file: x [3, 4] (48 bytes of data; the header is padded with 6 spaces). */
export function validInput(): Uint8Array {
  return serializeSafetensors({ x: { shape: [3, 4], data: new Float32Array(seededBytes(48).buffer) } });
}

/** A valid weights file of `layers` layers of [4, 4] projections, with optional changes to the names. */
export function weightsFile(layers: number[], rename: Record<string, string | null> = {}, extra: string[] = []): Uint8Array {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  let stream = 100;
  const add = (name: string, shape: number[]) => {
    const to = name in rename ? rename[name] : name;
    if (to === null || to === undefined) return;
    tensors[to] = { shape, data: seededArray(streamKey(11, stream++), shape.reduce((a, b) => a * b, 1), 0.5) };
  };
  for (const l of layers) for (const p of ['q', 'k', 'v', 'o'] as const) add(weightName(l, p), [4, 4]);
  for (const name of extra) add(name, [4]);
  return serializeSafetensors(tensors, { format: 'pt' });
}

function withHeaderLength(bytes: Uint8Array, delta: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  view.setBigUint64(0, view.getBigUint64(0, true) + BigInt(delta), true);
  return out;
}

export const REGRESSIONS: RegressionCase[] = [
  {
    file: 'header-length-4-short.safetensors',
    found: 'header length 4 bytes short (only padding spaces cut): every tensor read one float off, accepted',
    rule: 'trailing-bytes', message: /4 bytes after the last tensor 'x'/, stage: 'header',
    bytes: () => withHeaderLength(validInput(), -4),
  },
  {
    file: 'header-length-4-long.safetensors',
    found: '(added beside the tester\'s cases) header length 4 bytes long: the first float of the data falls into the header',
    rule: 'header-utf8', message: /the header is not valid UTF-8 \(at or after byte 7\d of the file\)/, stage: 'header',
    bytes: () => withHeaderLength(validInput(), 4),
  },
  {
    file: 'duplicate-name.safetensors',
    found: 'a tensor name twice: accepted, the later entry won',
    rule: 'duplicate-name', message: /tensor 'x': the name appears twice/, stage: 'header',
    bytes: () => rawFile(`{"x":${JSON.stringify(f32([3, 4], 0, 48))},"x":${JSON.stringify(f32([3, 4], 48, 96))}}`, 96),
  },
  {
    file: 'hole-between-tensors.safetensors',
    found: 'a hole between two tensors: accepted',
    rule: 'hole', message: /tensor 'b': .*hole of 16 bytes after 'a'/, stage: 'header',
    bytes: () => rawFile({ a: f32([4], 0, 16), b: f32([4], 32, 48) }, 48),
  },
  {
    file: 'bytes-after-last-tensor.safetensors',
    found: 'bytes after the last tensor: accepted',
    rule: 'trailing-bytes', message: /5 bytes after the last tensor 'x'/, stage: 'header',
    bytes: () => rawFile({ x: f32([3, 4], 0, 48) }, 53),
  },
  {
    file: 'offsets-not-from-zero.safetensors',
    found: 'offsets starting at 16, not 0: accepted',
    rule: 'data-start', message: /tensor 'x': the first tensor by offset starts at byte 16/, stage: 'header',
    bytes: () => rawFile({ x: f32([3, 4], 16, 64) }, 64),
  },
  {
    file: 'utf8-bom.safetensors',
    found: 'a UTF-8 byte order mark before the JSON: accepted (TextDecoder dropped it)',
    rule: 'header-start', message: /must begin with \{ \(0x7b\), found a UTF-8 byte order mark/, stage: 'header',
    bytes: () => rawFile({ x: f32([3, 4], 0, 48) }, 48, undefined, [0xef, 0xbb, 0xbf]),
  },
  {
    file: 'nested-100000-deep.safetensors',
    found: 'a header nested 100,000 deep: "Maximum call stack size exceeded", no file named',
    rule: 'nesting', message: /tensor 'x': the entry must be an object \{dtype, shape, data_offsets\}, found an array/, stage: 'header',
    bytes: () => rawFile(`{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 0),
  },
  {
    file: 'metadata-not-a-string.safetensors',
    found: 'a non-string __metadata__ value: a 4 MB error line (here the value is an array of 100,000 numbers)',
    rule: 'metadata', message: /"__metadata__" values must be strings; 'format' holds an array/, stage: 'header',
    bytes: () => rawFile(`{"__metadata__":{"format":[${new Array(100_000).fill(0).join(',')}]},"x":${JSON.stringify(f32([3, 4], 0, 48))}}`, 48),
  },
  {
    file: 'name-with-terminal-escape.safetensors',
    found: 'a tensor name holding ESC, CR, a newline and a bidi override, printed raw: a forged "verification passed" line',
    rule: 'overlap', message: /tensor '\\x1b\[2K\\rverification passed \(exact\)\\n\\u202e': data_offsets \[0, 48\] overlap 'a'/, stage: 'header',
    bytes: () => rawFile({ a: f32([3, 4], 0, 48), '\u001b[2K\rverification passed (exact)\n\u202e': f32([3, 4], 0, 48) }, 48),
  },
  {
    file: 'layer-1-q-renamed.safetensors',
    found: 'layers.1.self_attn.q_proj.weight renamed: the run silently used 1 layer and ignored layer 1\'s other tensors',
    rule: 'layer-set', message: /layer 1 lacks self_attn\.q_proj\.weight \(it has 'layers\.1\.self_attn\.q_proj\.weights'\); found layers 0–2/, stage: 'layers',
    bytes: () => weightsFile([0, 1, 2], { [weightName(1, 'q')]: 'layers.1.self_attn.q_proj.weights' }),
  },
  {
    file: 'layers-0-and-2.safetensors',
    found: 'layers 0 and 2 without 1: the run silently used 1 layer',
    rule: 'layer-set', message: /layer 1 lacks self_attn\.q_proj\.weight .*; found layers 0, 2/, stage: 'layers',
    bytes: () => weightsFile([0, 2]),
  },
  {
    file: 'partial-biases.safetensors',
    found: '(added beside the tester\'s cases) biases on q only, in every layer',
    rule: 'layer-set', message: /layer 0 has self_attn\.q_proj\.bias but lacks self_attn\.k_proj\.bias/, stage: 'layers',
    bytes: () => weightsFile([0, 1], {}, [weightName(0, 'q', 'bias'), weightName(1, 'q', 'bias')]),
  },
];
