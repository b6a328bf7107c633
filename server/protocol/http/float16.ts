/**
 * IEEE 754 half (FP16) and bfloat16 bit conversions for JSON tensors: FP16/BF16 live in memory as raw 16-bit words
 * (Uint16Array), JSON carries numbers. Node 20 has no Float16Array, so the conversion is done by hand.
 */

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/**
 * The FP16 bit pattern nearest to `value` (round to nearest, ties to even; overflow → ±Infinity).
 * Goes through float32 first; the double rounding this implies can only differ from a direct conversion for
 * values within 2^-24 (relative) of a half-way point.
 */
export function float16BitsFromNumber(value: number): number {
  float32[0] = value;
  const bits = float32Bits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;

  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Infinity or NaN (quiet)
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit leading 1 into place.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(full, shift);
  }
  // Rounding may carry into the exponent, which is exactly the right result (up to Infinity).
  return sign | ((halfExponent << 10) + roundShift(mantissa, 13));
}

/** `value >>> shift`, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
  const truncated = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (remainder > halfway || (remainder === halfway && (truncated & 1) === 1)) return truncated + 1;
  return truncated;
}

export function numberFromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 is the upper half of a float32. */
export function numberFromBfloat16Bits(bits: number): number {
  float32Bits[0] = (bits & 0xffff) << 16;
  return float32[0];
}
