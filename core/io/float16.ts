/**
 * float16 conversions by bit pattern. V8's Float16Array reads and writes each element through a slow path
 * (10–20 ns, a whole 1024×768 depth map costing 10–15 ms each way), while the same conversions on the raw
 * 16-bit patterns run at plain typed-array speed. Both directions give exactly what Float16Array gives:
 * half → float is a table of all 65,536 values, float → half rounds to nearest, ties to even, as IEEE does.
 */

let halfValues: Float32Array | null = null;

/** The float32 value of every float16 bit pattern (each half is exactly a float), built once. */
export function halfToFloatTable(): Float32Array {
  if (!halfValues) {
    const patterns = new Uint16Array(65536);
    for (let i = 0; i < patterns.length; i++) patterns[i] = i;
    halfValues = Float32Array.from(new Float16Array(patterns.buffer));
  }
  return halfValues;
}

/** The bit patterns of a Float16Array, without copying. */
export function halfBits(values: Float16Array): Uint16Array {
  return new Uint16Array(values.buffer, values.byteOffset, values.length);
}

const HALF_INFINITY = 0x7c00, HALF_NAN = 0x7e00;
/** |x| from here up rounds past the largest half (65504) to infinity: 65520 ties to the even pattern 0x7c00. */
const FLOAT_OVERFLOW = 0x477ff000;
/** 2^−14, the smallest normal half; below it halves are multiples of 2^−24. */
const FLOAT_MIN_NORMAL = 0x38800000;
/** (127 − 15) << 10: the exponent bias difference, where a float's exponent and mantissa meet a half's. */
const REBIAS = 112 << 10;

/** float32 values → float16 bit patterns, rounded as `Float16Array.from(values)` rounds them. */
export function floatToHalfBits(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  // Signed 32-bit views keep every operation below in small-integer arithmetic (unsigned reads above 2^31
  // would be boxed as doubles).
  const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i];
    const sign = (x >>> 16) & 0x8000;
    const abs = x & 0x7fffffff;
    let half;
    if (abs >= 0x7f800000) half = abs > 0x7f800000 ? HALF_NAN : HALF_INFINITY;
    else if (abs >= FLOAT_OVERFLOW) half = HALF_INFINITY;
    else if (abs >= FLOAT_MIN_NORMAL) {
      // Drop 13 mantissa bits, rounding to nearest with ties to even; a carry may step the exponent, as it should.
      half = ((abs + 0xfff + ((abs >>> 13) & 1)) >>> 13) - REBIAS;
    } else {
      // Subnormal (or zero): the half is |x|·2^24 rounded to an integer, ties to even (exact in float64).
      const scaled = Math.abs(values[i]) * 16777216;
      half = Math.round(scaled);
      if (half - scaled === 0.5 && half & 1) half--;
    }
    out[i] = sign | half;
  }
  return out;
}
