package io.moestreams.numerics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HalfFloatsTest {

    private static String hex(short s) {
        return String.format("0x%04X", s & 0xffff);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        // value (Java float literal / hex float)  , expected F16 bits
        "1.0, 0x3C00",
        "-2.0, 0xC000",
        "0.0, 0x0000",
        "-0.0, 0x8000",
        "65504.0, 0x7BFF", // largest finite
        "65519.99, 0x7BFF", // just below the tie with infinity
        "65520.0, 0x7C00", // tie between 65504 (odd mantissa) and 2^16 -> rounds to even = infinity
        "0x1.0p-14, 0x0400", // smallest normal
        "0x1.0p-24, 0x0001", // smallest subnormal
        "0x1.ff8p-15, 0x03FF", // largest subnormal 1023 * 2^-24
        "0x1.0p-25, 0x0000", // tie between 0 and 2^-24 -> even (0)
        "0x1.8p-25, 0x0001", // 0.75 * 2^-24 -> above the tie
        "0x1.4p-23, 0x0002", // 2.5 * 2^-24 -> tie -> even (2)
        "0x1.cp-23, 0x0004", // 3.5 * 2^-24 -> tie -> even (4)
        "0x1.002p0, 0x3C00", // 1 + 2^-11: tie between 0x3C00 and 0x3C01 -> even
        "0x1.006p0, 0x3C02", // 1 + 3*2^-11: tie between 0x3C01 and 0x3C02 -> even
        "0x1.002002p0, 0x3C01", // 1 + 2^-11 + 2^-23: just above the tie
        "0x1.ffep-15, 0x0400", // rounds up from the subnormal range into the smallest normal
        "0.1, 0x2E66",
        "0x1.0p-30, 0x0000", // underflows to zero
        "1.0e10, 0x7C00", // overflow
        "-1.0e10, 0xFC00"
    })
    void narrowsF32ToF16RoundingToNearestEven(String literal, String bits) {
        // Given a float and its hand-computed F16 bit pattern
        float value = Float.parseFloat(literal);
        short expected = (short) Integer.parseInt(bits.substring(2), 16);
        // When narrowed
        short actual = HalfFloats.floatToF16(value);
        // Then the bits are as expected
        assertEquals(hex(expected), hex(actual), literal);
    }

    @Test
    void narrowsSpecialValuesToF16() {
        // Given / When / Then infinities keep their sign and NaN stays a NaN (exponent all ones, mantissa non-zero)
        assertEquals("0x7C00", hex(HalfFloats.floatToF16(Float.POSITIVE_INFINITY)));
        assertEquals("0xFC00", hex(HalfFloats.floatToF16(Float.NEGATIVE_INFINITY)));
        for (int nanBits : new int[] {0x7FC00000, 0x7F800001, 0xFF800123, 0x7FFFFFFF}) {
            short h = HalfFloats.floatToF16(Float.intBitsToFloat(nanBits));
            assertEquals(0x7C00, h & 0x7C00, "exponent of NaN from " + Integer.toHexString(nanBits));
            assertTrue((h & 0x03FF) != 0, "mantissa of NaN from " + Integer.toHexString(nanBits));
        }
        assertEquals("0x0000", hex(HalfFloats.floatToF16(Float.MIN_VALUE)));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "0x3C00, 0x1.0p0",
        "0xC000, -2.0",
        "0x0001, 0x1.0p-24",
        "0x03FF, 0x1.ff8p-15",
        "0x8001, -0x1.0p-24",
        "0x0400, 0x1.0p-14",
        "0x7BFF, 65504.0",
        "0x3555, 0.333251953125",
        "0x7C00, Infinity",
        "0xFC00, -Infinity",
        "0x8000, -0.0"
    })
    void widensF16ToF32Exactly(String bits, String literal) {
        // Given an F16 bit pattern and its hand-computed value
        short h = (short) Integer.parseInt(bits.substring(2), 16);
        float expected = Float.parseFloat(literal);
        // When widened / Then exactly that float (bit for bit, so -0.0 is checked too)
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(HalfFloats.f16ToFloat(h)), bits);
    }

    @Test
    void widensF16NaNToF32NaN() {
        // Given / When / Then quiet and signalling F16 NaNs widen to NaN
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat((short) 0x7E00)));
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat((short) 0x7C01)));
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat((short) 0xFE00)));
    }

    @Test
    void everyFiniteF16RoundTripsAndMatchesANaiveNearestSearch() {
        // Given all non-negative finite F16 values as doubles (computed here from the bit layout)
        double[] halves = new double[0x7C00];
        for (int h = 0; h < 0x7C00; h++) {
            int exp = h >>> 10;
            int mant = h & 0x3FF;
            halves[h] = exp == 0 ? mant * Math.pow(2, -24) : (1 + mant / 1024.0) * Math.pow(2, exp - 15);
            // When widened / Then exact, and narrowing back gives the same bits
            assertEquals(halves[h], HalfFloats.f16ToFloat((short) h), 0.0);
            assertEquals(h, HalfFloats.floatToF16((float) halves[h]) & 0xffff);
            assertEquals(h | 0x8000, HalfFloats.floatToF16((float) -halves[h]) & 0xffff);
        }
        // And random floats over the whole F16 range narrow to the nearest F16 (ties to even), found by search
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (Math.pow(2, -27 + random.nextDouble() * 44) * (random.nextBoolean() ? 1 : -1));
            double ax = Math.abs((double) x);
            int expected;
            if (ax >= 65520.0) {
                expected = 0x7C00;
            } else {
                int idx = Arrays.binarySearch(halves, ax);
                if (idx >= 0) {
                    expected = idx;
                } else if (-idx - 1 == halves.length) {
                    expected = 0x7BFF; // between 65504 and the 65520 tie: nearest is the largest finite
                } else {
                    int hi = -idx - 1;
                    int lo = hi - 1;
                    double dLo = ax - halves[lo];
                    double dHi = halves[hi] - ax;
                    expected = dLo < dHi ? lo : dHi < dLo ? hi : (lo % 2 == 0 ? lo : hi);
                }
            }
            if (x < 0) {
                expected |= 0x8000;
            }
            assertEquals(hex((short) expected), hex(HalfFloats.floatToF16(x)), Float.toString(x));
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "1.0, 0x3F80",
        "-2.0, 0xC000",
        "0x1.02p0, 0x3F81",
        "0x1.01p0, 0x3F80", // 1 + 2^-8: tie between 0x3F80 and 0x3F81 -> even
        "0x1.03p0, 0x3F82", // 1 + 3*2^-8: tie between 0x3F81 and 0x3F82 -> even
        "0x1.01002p0, 0x3F81", // just above the tie
        "0x1.fffffep127, 0x7F80", // Float.MAX_VALUE rounds to infinity
        "Infinity, 0x7F80",
        "-Infinity, 0xFF80",
        "0x0.01p-126, 0x0000", // F32 subnormal bits 0x00008000: tie between 0 and 0x0001 -> even (0)
        "0x0.03p-126, 0x0002", // bits 0x00018000: tie between 0x0001 and 0x0002 -> even
        "0x0.018p-126, 0x0001", // bits 0x0000C000: above the tie -> 0x0001
        "0.1, 0x3DCD"
    })
    void narrowsF32ToBf16RoundingToNearestEven(String literal, String bits) {
        // Given a float and its hand-computed BF16 bit pattern
        float value = Float.parseFloat(literal);
        short expected = (short) Integer.parseInt(bits.substring(2), 16);
        // When narrowed / Then
        assertEquals(hex(expected), hex(HalfFloats.floatToBf16(value)), literal);
    }

    @Test
    void bf16KeepsNaNAndWidensExactly() {
        // Given a NaN whose payload is only in the low 16 bits
        short nan = HalfFloats.floatToBf16(Float.intBitsToFloat(0x7F800001));
        // Then it stays a NaN, and every BF16 widens to the float with those top 16 bits
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(nan)));
        for (int b = 0; b < 65536; b++) {
            assertEquals(b << 16, Float.floatToRawIntBits(HalfFloats.bf16ToFloat((short) b)));
        }
    }
}
