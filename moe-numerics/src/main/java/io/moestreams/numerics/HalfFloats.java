package io.moestreams.numerics;

/**
 * Conversions between F32 and the 16-bit float formats of safetensors files and of the wire (schemas Tensors): IEEE 754 binary16 (F16) and bfloat16
 * (BF16). Widening is exact (subnormals, infinities and NaN payloads included); narrowing rounds to nearest,
 * ties to even, overflows to infinity and keeps NaN a (quiet) NaN.
 */
public final class HalfFloats {

    /** All 65536 F16 bit patterns widened to F32, built once. */
    private static final float[] F16_TABLE = buildF16Table();

    private HalfFloats() {}

    /** Widens an F16 bit pattern (low 16 bits of {@code bits}) to F32, exactly. */
    public static float f16ToFloat(short bits) {
        return F16_TABLE[bits & 0xffff];
    }

    /** Widens an F16 bit pattern by computation (the table is built from this). */
    static float f16ToFloatComputed(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) {
            // zero or subnormal: value = mant * 2^-24, exact in F32
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1f) {
            // infinity (mant == 0) or NaN with its payload moved to the top of the F32 mantissa
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
    }

    /** Narrows an F32 to the F16 bit pattern, rounding to nearest, ties to even. */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            if (mant == 0) {
                return (short) (sign | 0x7c00);
            }
            // NaN: keep the top payload bits and force the quiet bit so it stays a NaN
            return (short) (sign | 0x7c00 | 0x200 | (mant >>> 13));
        }
        int unbiased = exp - 127;
        if (unbiased > 15) {
            return (short) (sign | 0x7c00);
        }
        if (unbiased >= -14) {
            // normal F16: 10 mantissa bits kept, 13 rounded away; a carry may bump the exponent (even to infinity)
            int h = ((unbiased + 15) << 10) | (mant >>> 13);
            int rest = mant & 0x1fff;
            if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
                h++;
            }
            return (short) (sign | h);
        }
        if (exp == 0) {
            return (short) sign; // F32 subnormals are far below half of the smallest F16 subnormal
        }
        // subnormal F16 or underflow: value = full * 2^(unbiased - 23); in units of 2^-24 (the F16 subnormal step)
        // that is full * 2^(unbiased + 1) = full >> shift, with shift >= 14 here
        int full = mant | 0x800000;
        int shift = -unbiased - 1;
        if (shift >= 25) {
            return (short) sign; // below 2^-25: rounds to zero
        }
        int m = full >>> shift;
        int rest = full & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (m & 1) == 1)) {
            m++; // may become 0x400, the smallest normal, which is the right encoding
        }
        return (short) (sign | m);
    }

    /** Widens a BF16 bit pattern to F32, exactly. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Narrows an F32 to the BF16 bit pattern, rounding to nearest, ties to even. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7f800000) == 0x7f800000 && (bits & 0x7fffff) != 0) {
            return (short) ((bits >>> 16) | 0x40); // NaN stays a quiet NaN even if the payload was in the low half
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    private static float[] buildF16Table() {
        float[] table = new float[1 << 16];
        for (int h = 0; h < table.length; h++) {
            table[h] = f16ToFloatComputed(h);
        }
        return table;
    }
}
