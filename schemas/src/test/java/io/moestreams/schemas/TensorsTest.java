package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DType;
import io.moestreams.avro.Tensor;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TensorsTest {

    // ------------------------------------------------------------------ naive references (double precision)

    /** binary16 value from its fields, written from the IEEE 754 definition; +inf as 65536 for searches. */
    private static double naiveHalfValue(int bits) {
        int sign = (bits >> 15) & 1;
        int exp = (bits >> 10) & 0x1F;
        int mant = bits & 0x3FF;
        double magnitude;
        if (exp == 0) {
            magnitude = mant / 1024.0 * Math.pow(2, -14);
        } else if (exp == 31) {
            magnitude = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            magnitude = (1 + mant / 1024.0) * Math.pow(2, exp - 15);
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    private static double naiveBf16Value(int bits) {
        int sign = (bits >> 15) & 1;
        int exp = (bits >> 7) & 0xFF;
        int mant = bits & 0x7F;
        double magnitude;
        if (exp == 0) {
            magnitude = mant / 128.0 * Math.pow(2, -126);
        } else if (exp == 255) {
            magnitude = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            magnitude = (1 + mant / 128.0) * Math.pow(2, exp - 127);
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    /**
     * Nearest representable value by exhaustive search over the positive codes; the infinity code
     * competes as the next power of two above the largest finite value (IEEE overflow rule), ties go
     * to the even code.
     */
    private static int naiveNearest(float x, int infCode, double infAsValue, boolean half) {
        double target = Math.abs((double) x);
        int best = -1;
        double bestDistance = Double.MAX_VALUE;
        for (int code = 0; code <= infCode; code++) {
            double value = code == infCode ? infAsValue : (half ? naiveHalfValue(code) : naiveBf16Value(code));
            double distance = Math.abs(value - target);
            if (distance < bestDistance || (distance == bestDistance && (code & 1) == 0)) {
                best = code;
                bestDistance = distance;
            }
        }
        int signBit = (Float.floatToRawIntBits(x) >>> 31) == 1 ? 0x8000 : 0;
        return signBit | best;
    }

    private static byte[] bytes(Tensor t) {
        ByteBuffer data = t.getData().duplicate();
        byte[] out = new byte[data.remaining()];
        data.get(out);
        return out;
    }

    // ------------------------------------------------------------------ F32

    @Test
    void encodesF32LittleEndianRowMajor() {
        // Given a 2x2 matrix with hand-known binary32 bit patterns (1.0 = 0x3F800000, -2.5 = 0xC0200000,
        // 0.0 = 0x00000000, 0.15625 = 0x3E200000)
        float[] values = {1.0f, -2.5f, 0.0f, 0.15625f};

        // When it is encoded as F32
        Tensor t = Tensors.f32(values, 2, 2);

        // Then the bytes are each pattern little-endian, in row-major order
        byte[] expected = {
            0x00, 0x00, (byte) 0x80, 0x3F,
            0x00, 0x00, 0x20, (byte) 0xC0,
            0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x20, 0x3E
        };
        assertArrayEquals(expected, bytes(t));
        assertEquals(DType.F32, t.getDtype());
        assertEquals(List.of(2, 2), t.getShape());
        assertArrayEquals(values, Tensors.toFloats(t));
        assertArrayEquals(new int[] {2, 2}, Tensors.shape(t));
    }

    @Test
    void decodesF32FromBufferWithNonZeroPosition() {
        // Given little-endian bytes of 1.0 and -2.5 placed after 3 junk bytes, the buffer positioned at 3
        byte[] raw = {9, 9, 9, 0x00, 0x00, (byte) 0x80, 0x3F, 0x00, 0x00, 0x20, (byte) 0xC0};
        ByteBuffer buffer = ByteBuffer.wrap(raw);
        buffer.position(3);
        Tensor t = new Tensor(DType.F32, List.of(2), buffer);

        // When decoded (twice, to show the buffer is not consumed)
        float[] first = Tensors.toFloats(t, "x");
        float[] second = Tensors.toFloats(t, "x");

        // Then only the remaining bytes are read
        assertArrayEquals(new float[] {1.0f, -2.5f}, first);
        assertArrayEquals(first, second);
        assertEquals(3, buffer.position());
    }

    @Test
    void roundTripsRandomF32BitExactly() {
        // Given random floats including specials
        Random random = new Random(7);
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = Float.intBitsToFloat(random.nextInt());
        }
        values[0] = Float.NaN;
        values[1] = Float.NEGATIVE_INFINITY;
        values[2] = -0.0f;

        // When encoded and decoded
        float[] back = Tensors.toFloats(Tensors.f32(values, 10, 100));

        // Then every bit pattern is preserved
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(back[i]), "element " + i);
        }
    }

    // ------------------------------------------------------------------ F16

    @Test
    void encodesF16HandComputedBitPatterns() {
        // Given values whose binary16 encodings are known from the IEEE 754 tables
        float[] values = {
            1.0f,
            -2.0f,
            0.5f,
            65504f,
            0x1p-24f,
            1023 * 0x1p-24f,
            0x1p-14f,
            Float.POSITIVE_INFINITY,
            -0.0f,
            65520f,
            65519f,
            1 + 0x1p-11f,
            1 + 3 * 0x1p-11f,
            0x1p-25f,
            3 * 0x1p-25f,
            0x1p-25f * 1.0001f,
            1e-9f,
            1e6f,
            0.333251953125f
        };
        int[] expected = {
            0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00, 0x8000, 0x7C00, 0x7BFF, 0x3C00, 0x3C02,
            0x0000, 0x0002, 0x0001, 0x0000, 0x7C00, 0x3555
        };

        // When each is encoded
        Tensor t = Tensors.f16(values, values.length);

        // Then the little-endian shorts are the expected patterns
        byte[] data = bytes(t);
        assertEquals(2 * values.length, data.length);
        for (int i = 0; i < values.length; i++) {
            int bits = (data[2 * i] & 0xFF) | ((data[2 * i + 1] & 0xFF) << 8);
            assertEquals(expected[i], bits, String.format("f16(%s) = 0x%04x", values[i], bits));
        }
    }

    @Test
    void decodesF16HandComputedBitPatterns() {
        // Given binary16 patterns little-endian: 0x3C00 (1), 0xC000 (-2), 0x0001 (2^-24), 0x03FF (largest
        // subnormal), 0x7BFF (65504), 0xFC00 (-inf), 0x8000 (-0)
        byte[] raw = {
            0x00,
            0x3C,
            0x00,
            (byte) 0xC0,
            0x01,
            0x00,
            (byte) 0xFF,
            0x03,
            (byte) 0xFF,
            0x7B,
            0x00,
            (byte) 0xFC,
            0x00,
            (byte) 0x80
        };
        Tensor t = new Tensor(DType.F16, List.of(7), ByteBuffer.wrap(raw));

        // When decoded
        float[] values = Tensors.toFloats(t);

        // Then each is the exact value
        assertArrayEquals(
                new float[] {1.0f, -2.0f, 0x1p-24f, 1023 * 0x1p-24f, 65504f, Float.NEGATIVE_INFINITY, -0.0f}, values);
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(values[6]));
    }

    @Test
    void decodesEveryF16PatternLikeTheIeeeDefinition() {
        // Given every one of the 65536 binary16 patterns
        float[] decoded = new float[65536];
        ByteBuffer raw = ByteBuffer.allocate(2 * 65536);
        for (int code = 0; code < 65536; code++) {
            raw.put((byte) code).put((byte) (code >>> 8));
        }
        raw.flip();

        // When decoded as one tensor
        float[] values = Tensors.toFloats(new Tensor(DType.F16, List.of(65536), raw));
        System.arraycopy(values, 0, decoded, 0, 65536);

        // Then each matches the naive formula (NaN patterns stay NaN, signs of zero preserved)
        for (int code = 0; code < 65536; code++) {
            double expected = naiveHalfValue(code);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(decoded[code]), String.format("0x%04x", code));
            } else {
                assertEquals(expected, decoded[code], 0.0, String.format("0x%04x", code));
                assertEquals(
                        code >>> 15, Float.floatToRawIntBits(decoded[code]) >>> 31, String.format("sign 0x%04x", code));
            }
        }
    }

    @Test
    void encodesF16ToTheNearestValueTiesToEven() {
        // Given random floats over the whole binary16 range, its subnormals, overflow region and midpoints
        Random random = new Random(42);
        float[] values = new float[1200];
        for (int i = 0; i < values.length; i++) {
            switch (i % 4) {
                case 0 -> values[i] = (float) ((random.nextDouble() * 2 - 1) * 70000);
                case 1 -> values[i] = (float) ((random.nextDouble() * 2 - 1) * Math.pow(2, -random.nextInt(30)));
                case 2 -> {
                    // exact midpoint between two adjacent binary16 values
                    int code = random.nextInt(0x7BFF);
                    values[i] = (float) ((naiveHalfValue(code) + naiveHalfValue(code + 1)) / 2);
                }
                default -> values[i] = (float) (random.nextGaussian() * 3);
            }
        }

        // When encoded
        byte[] data = bytes(Tensors.f16(values, values.length));

        // Then each code is the one the exhaustive search picks
        for (int i = 0; i < values.length; i++) {
            int bits = (data[2 * i] & 0xFF) | ((data[2 * i + 1] & 0xFF) << 8);
            assertEquals(naiveNearest(values[i], 0x7C00, 65536.0, true), bits, "f16(" + values[i] + ")");
        }
    }

    @Test
    void keepsNanAsNanInF16AndBf16() {
        // Given NaN
        float[] values = {Float.NaN};

        // When encoded and decoded in both 16-bit formats
        float[] half = Tensors.toFloats(Tensors.f16(values, 1));
        float[] brain = Tensors.toFloats(Tensors.bf16(values, 1));

        // Then it stays NaN (never turns into infinity)
        assertTrue(Float.isNaN(half[0]));
        assertTrue(Float.isNaN(brain[0]));
    }

    // ------------------------------------------------------------------ BF16

    @Test
    void encodesBf16HandComputedBitPatterns() {
        // Given floats with known bfloat16 roundings: 1.0 (0x3F800000), pi (0x40490FDB -> 0x4049),
        // ties 0x3F808000 -> 0x3F80 (even) and 0x3F818000 -> 0x3F82, above-tie 0x3F808001 -> 0x3F81,
        // Float.MAX_VALUE (0x7F7FFFFF) rounds up to infinity 0x7F80, -1.5 -> 0xBFC0
        float[] values = {
            1.0f,
            (float) Math.PI,
            Float.intBitsToFloat(0x3F808000),
            Float.intBitsToFloat(0x3F818000),
            Float.intBitsToFloat(0x3F808001),
            Float.MAX_VALUE,
            -1.5f
        };
        int[] expected = {0x3F80, 0x4049, 0x3F80, 0x3F82, 0x3F81, 0x7F80, 0xBFC0};

        // When encoded
        byte[] data = bytes(Tensors.bf16(values, values.length));

        // Then the little-endian shorts are the expected patterns
        for (int i = 0; i < values.length; i++) {
            int bits = (data[2 * i] & 0xFF) | ((data[2 * i + 1] & 0xFF) << 8);
            assertEquals(expected[i], bits, String.format("bf16(%s) = 0x%04x", values[i], bits));
        }
    }

    @Test
    void decodesEveryBf16PatternLikeTheDefinition() {
        // Given every bfloat16 pattern, little-endian
        ByteBuffer raw = ByteBuffer.allocate(2 * 65536);
        for (int code = 0; code < 65536; code++) {
            raw.put((byte) code).put((byte) (code >>> 8));
        }
        raw.flip();

        // When decoded
        float[] values = Tensors.toFloats(new Tensor(DType.BF16, List.of(256, 256), raw));

        // Then each equals the value computed from sign, exponent and mantissa
        for (int code = 0; code < 65536; code++) {
            double expected = naiveBf16Value(code);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(values[code]), String.format("0x%04x", code));
            } else {
                assertEquals(expected, values[code], 0.0, String.format("0x%04x", code));
            }
        }
    }

    @Test
    void encodesBf16ToTheNearestValueTiesToEven() {
        // Given random floats of moderate magnitude and exact midpoints between bfloat16 neighbours
        Random random = new Random(3);
        float[] values = new float[600];
        for (int i = 0; i < values.length; i++) {
            if (i % 2 == 0) {
                values[i] = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(40) - 20));
            } else {
                int code = 0x2000 + random.nextInt(0x3000);
                values[i] = (float) ((naiveBf16Value(code) + naiveBf16Value(code + 1)) / 2);
            }
        }

        // When encoded
        byte[] data = bytes(Tensors.bf16(values, values.length));

        // Then each code is the one the exhaustive search picks
        for (int i = 0; i < values.length; i++) {
            int bits = (data[2 * i] & 0xFF) | ((data[2 * i + 1] & 0xFF) << 8);
            assertEquals(naiveNearest(values[i], 0x7F80, Math.pow(2, 128), false), bits, "bf16(" + values[i] + ")");
        }
    }

    // ------------------------------------------------------------------ shapes and validation

    @Test
    void treatsEmptyShapeAsScalarAndZeroDimensionAsEmpty() {
        // Given a scalar and an empty [0, 4] tensor
        Tensor scalar = Tensors.f32(new float[] {3.5f});
        Tensor empty = Tensors.bf16(new float[0], 0, 4);

        // When decoded
        // Then the scalar has one element and the empty tensor none
        assertArrayEquals(new float[] {3.5f}, Tensors.toFloats(scalar));
        assertArrayEquals(new int[0], Tensors.shape(scalar));
        assertArrayEquals(new float[0], Tensors.toFloats(empty));
        assertArrayEquals(new int[] {0, 4}, Tensors.shape(empty));
    }

    @Test
    void rejectsDataThatDoesNotMatchTheShapeNamingTheField() {
        // Given an F16 tensor of shape [2, 3] carrying 10 bytes instead of 12
        Tensor t = new Tensor(DType.F16, List.of(2, 3), ByteBuffer.wrap(new byte[10]));

        // When decoded as field "hidden"
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensors.toFloats(t, "hidden"));

        // Then the message names the field, the shape, the expected and actual byte counts
        assertTrue(e.getMessage().contains("'hidden'"), e.getMessage());
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
        assertTrue(e.getMessage().contains("needs 12 data bytes but has 10"), e.getMessage());
    }

    @Test
    void rejectsNegativeDimensionsAndMismatchedEncoderInput() {
        // Given a tensor with a negative dimension and encoder input of the wrong length
        Tensor negative = new Tensor(DType.F32, List.of(2, -1), ByteBuffer.wrap(new byte[0]));

        // When validated / encoded
        IllegalArgumentException shape =
                assertThrows(IllegalArgumentException.class, () -> Tensors.shape(negative, "tokens"));
        IllegalArgumentException encode =
                assertThrows(IllegalArgumentException.class, () -> Tensors.f32(new float[5], 2, 3));
        IllegalArgumentException overflow = assertThrows(
                IllegalArgumentException.class,
                () -> Tensors.validate(new Tensor(DType.F32, List.of(65536, 65536), ByteBuffer.allocate(0)), "output"));

        // Then each message says what is wrong
        assertTrue(
                shape.getMessage().contains("'tokens'") && shape.getMessage().contains("dimension 1"),
                shape.getMessage());
        assertTrue(encode.getMessage().contains("holds 6 elements but data has 5"), encode.getMessage());
        assertTrue(
                overflow.getMessage().contains("'output'")
                        && overflow.getMessage().contains("more than"),
                overflow.getMessage());
    }

    @Test
    void rejectsMissingTensorParts() {
        // Given a null tensor and one without data
        Tensor noData = new Tensor(DType.F32, List.of(1), null);

        // When validated
        IllegalArgumentException missing =
                assertThrows(IllegalArgumentException.class, () -> Tensors.toFloats(null, "gateWeights"));
        IllegalArgumentException empty =
                assertThrows(IllegalArgumentException.class, () -> Tensors.toFloats(noData, "gateWeights"));

        // Then the field is named
        assertTrue(missing.getMessage().contains("'gateWeights' is missing"), missing.getMessage());
        assertTrue(empty.getMessage().contains("'gateWeights' has no data"), empty.getMessage());
    }
}
