// F16 and BF16, exactly: every F16 value round-trips, ties go to even, overflow is refused on
// write, and F16 / BF16 tensors in a file widen to f32 without change.
import { describe, expect, it } from 'vitest';
import { bf16ToNumber, f16Bits, f16ToNumber, F16_MAX, roundToF16 } from '../../src/io/half.js';
import { getF32, parseSafetensorsHeader, serializeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';

/** A file with one tensor of 16-bit values written by hand (the writer only emits F32 and F16). */
function halfFile(dtype: 'F16' | 'BF16', bits: number[]): Uint8Array {
  let header = JSON.stringify({ t: { dtype, shape: [bits.length], data_offsets: [0, 2 * bits.length] } });
  while (header.length % 8) header += ' ';
  const out = new Uint8Array(8 + header.length + 2 * bits.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(header.length), true);
  out.set(new TextEncoder().encode(header), 8);
  bits.forEach((b, i) => view.setUint16(8 + header.length + 2 * i, b, true));
  return out;
}

describe('F16', () => {
  it('every finite F16 bit pattern round-trips exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16ToNumber(h);
      if (Number.isNaN(v)) continue;
      expect(f16Bits(v) === h || (v === 0 && (f16Bits(v) & 0x7fff) === 0)).toBe(true);
    }
  });
  it('halfway values round to even; past 65504 (after rounding) is infinity', () => {
    for (let h = 0x0001; h < 0x7bff; h += 97) {
      const a = f16ToNumber(h), b = f16ToNumber(h + 1);
      const mid = (a + b) / 2; // exact in f32 and float64
      expect(f16Bits(mid)).toBe((h & 1) === 0 ? h : h + 1);
      expect(f16Bits(a + (b - a) * 0.25)).toBe(h);
      expect(f16Bits(a + (b - a) * 0.75)).toBe(h + 1);
    }
    expect(roundToF16(65519)).toBe(F16_MAX);
    expect(roundToF16(65520)).toBe(Infinity);
    expect(roundToF16(2 ** -25)).toBe(0); // a tie at half the smallest subnormal: to even (0)
    expect(roundToF16(3 * 2 ** -26)).toBe(2 ** -24);
  });
  it('an F16 and a BF16 tensor in a file widen to f32 exactly', () => {
    const f16 = [0x3c00, 0xc000, 0x0001, 0x7bff, 0x3555];
    const a = halfFile('F16', f16);
    expect(Array.from(getF32(a, parseSafetensorsHeader(a), 't'))).toEqual(f16.map(f16ToNumber));
    const bf = [0x3f80, 0xc049, 0x0001, 0x7f7f];
    const b = halfFile('BF16', bf);
    expect(Array.from(getF32(b, parseSafetensorsHeader(b), 't'))).toEqual(bf.map(bf16ToNumber));
    expect(bf16ToNumber(0x3f80)).toBe(1);
  });
  it('the writer narrows to F16 (reading back gives the rounded values) and refuses values beyond its range, naming the tensor', () => {
    const data = Float32Array.from([1, 1 / 3, -2.5, 65504, 1e-8]);
    const bytes = serializeSafetensors({ y: { shape: [5], data, dtype: 'F16' } });
    const parsed = parseSafetensorsHeader(bytes);
    expect(parsed.tensors.get('y')!.dtype).toBe('F16');
    expect(Array.from(getF32(bytes, parsed, 'y'))).toEqual(Array.from(data, roundToF16));
    expect(() => serializeSafetensors({ big: { shape: [2], data: Float32Array.from([1, 70000]), dtype: 'F16' } })).toThrow(SafetensorsError);
    expect(() => serializeSafetensors({ big: { shape: [2], data: Float32Array.from([1, 70000]), dtype: 'F16' } })).toThrow(/'big'.*70000.*beyond F16's range/);
  });
});
