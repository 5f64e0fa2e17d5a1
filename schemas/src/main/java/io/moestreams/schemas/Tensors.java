package io.moestreams.schemas;

import io.moestreams.avro.DType;
import io.moestreams.avro.Tensor;
import io.moestreams.numerics.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Encoding and decoding of {@link Tensor} records: elements little-endian, row-major (C order).
 *
 * <p>F32 is IEEE binary32; F16 is IEEE binary16 (subnormals, infinities and NaN included);
 * BF16 is the upper 16 bits of a binary32. Encoders round to nearest, ties to even. Decoding is a
 * bulk little-endian buffer copy (F32) or a bulk short copy plus a bit conversion (F16/BF16) — no
 * boxing per element.
 *
 * <p>Every decoder validates the tensor first: a negative dimension, an element count beyond
 * {@link Integer#MAX_VALUE} or a byte length that is not {@code product(shape) × dtype size} is an
 * {@link IllegalArgumentException} naming the field (pass the field name to the overloads that take
 * one, e.g. {@code toFloats(block.getHidden(), "hidden")}).
 */
public final class Tensors {

    private static final String DEFAULT_FIELD = "tensor";

    private Tensors() {}

    /** Size in bytes of one element of {@code dtype}. */
    public static int elementSize(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        switch (dtype) {
            case F32:
                return 4;
            case F16:
            case BF16:
                return 2;
            default:
                throw new IllegalArgumentException("unsupported dtype " + dtype);
        }
    }

    /** Encodes {@code data} as an F32 tensor of the given shape (product(shape) must equal data.length). */
    public static Tensor f32(float[] data, int... shape) {
        return encode(DType.F32, data, shape);
    }

    /** Encodes {@code data} as an F16 tensor, rounding each value to the nearest binary16 (ties to even). */
    public static Tensor f16(float[] data, int... shape) {
        return encode(DType.F16, data, shape);
    }

    /** Encodes {@code data} as a BF16 tensor, rounding each value to the nearest bfloat16 (ties to even). */
    public static Tensor bf16(float[] data, int... shape) {
        return encode(DType.BF16, data, shape);
    }

    /**
     * Encodes {@code data} with the given dtype and shape.
     *
     * @throws IllegalArgumentException if a dimension is negative or product(shape) != data.length
     */
    public static Tensor encode(DType dtype, float[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        return encodeSlice(dtype, data, 0, data.length, shape);
    }

    /**
     * Encodes {@code data[offset .. offset+count)} with the given dtype and shape, without copying the slice first.
     *
     * @throws IllegalArgumentException if a dimension is negative, product(shape) != count or the slice is out of
     *     bounds
     */
    public static Tensor encodeSlice(DType dtype, float[] data, int offset, int count, int... shape) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        long expected = elementCount(shape, DEFAULT_FIELD);
        if (expected != count) {
            throw new IllegalArgumentException("tensor shape " + Arrays.toString(shape) + " holds " + expected
                    + " elements but data has " + count + " values");
        }
        Objects.checkFromIndexSize(offset, count, data.length);
        ByteBuffer bytes = ByteBuffer.allocate(count * elementSize(dtype)).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32:
                bytes.asFloatBuffer().put(data, offset, count);
                break;
            case F16: {
                short[] halves = new short[count];
                for (int i = 0; i < count; i++) {
                    halves[i] = HalfFloats.floatToF16(data[offset + i]);
                }
                bytes.asShortBuffer().put(halves);
                break;
            }
            case BF16: {
                short[] halves = new short[count];
                for (int i = 0; i < count; i++) {
                    halves[i] = HalfFloats.floatToBf16(data[offset + i]);
                }
                bytes.asShortBuffer().put(halves);
                break;
            }
            default:
                throw new IllegalArgumentException("unsupported dtype " + dtype);
        }
        List<Integer> dims = new ArrayList<>(shape.length);
        for (int d : shape) {
            dims.add(d);
        }
        return new Tensor(dtype, dims, bytes.order(ByteOrder.BIG_ENDIAN));
    }

    /** Decodes the elements of {@code tensor} to floats (validated; errors name the field "tensor"). */
    public static float[] toFloats(Tensor tensor) {
        return toFloats(tensor, DEFAULT_FIELD);
    }

    /**
     * Decodes the elements of {@code tensor} to floats in row-major order.
     *
     * @param field name of the record field holding the tensor, used in error messages
     * @throws IllegalArgumentException if the tensor is malformed
     */
    public static float[] toFloats(Tensor tensor, String field) {
        float[] out = new float[validate(tensor, field)];
        readInto(tensor, field, out, 0);
        return out;
    }

    /**
     * Decodes the elements of {@code tensor} into {@code out[offset ..]} (no intermediate array).
     *
     * @return the number of elements written
     * @throws IllegalArgumentException if the tensor is malformed
     * @throws IndexOutOfBoundsException if {@code out} has no room for them
     */
    public static int readInto(Tensor tensor, String field, float[] out, int offset) {
        int count = validate(tensor, field);
        Objects.checkFromIndexSize(offset, count, out.length);
        ByteBuffer bytes = tensor.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (tensor.getDtype()) {
            case F32:
                bytes.asFloatBuffer().get(out, offset, count);
                return count;
            case F16: {
                ShortBuffer halves = bytes.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out[offset + i] = HalfFloats.f16ToFloat(halves.get(i));
                }
                return count;
            }
            case BF16: {
                ShortBuffer halves = bytes.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out[offset + i] = HalfFloats.bf16ToFloat(halves.get(i));
                }
                return count;
            }
            default:
                throw new IllegalArgumentException("tensor '" + field + "': unsupported dtype " + tensor.getDtype());
        }
    }

    /** The shape of {@code tensor} as an int array (validated; errors name the field "tensor"). */
    public static int[] shape(Tensor tensor) {
        return shape(tensor, DEFAULT_FIELD);
    }

    /** The shape of {@code tensor} as an int array, after validating it. */
    public static int[] shape(Tensor tensor, String field) {
        validate(tensor, field);
        List<Integer> dims = tensor.getShape();
        int[] out = new int[dims.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = dims.get(i);
        }
        return out;
    }

    /**
     * Checks that {@code tensor} is well formed: dtype and shape present, no negative dimension, an
     * element count that fits an int, and exactly product(shape) × element size data bytes.
     *
     * @return the element count
     * @throws IllegalArgumentException naming {@code field} and what was expected and found
     */
    public static int validate(Tensor tensor, String field) {
        Objects.requireNonNull(field, "field");
        if (tensor == null) {
            throw new IllegalArgumentException("tensor '" + field + "' is missing (null)");
        }
        if (tensor.getDtype() == null) {
            throw new IllegalArgumentException("tensor '" + field + "' has no dtype");
        }
        if (tensor.getShape() == null) {
            throw new IllegalArgumentException("tensor '" + field + "' has no shape");
        }
        if (tensor.getData() == null) {
            throw new IllegalArgumentException("tensor '" + field + "' has no data");
        }
        List<Integer> dims = tensor.getShape();
        long count = 1;
        for (int i = 0; i < dims.size(); i++) {
            Integer d = dims.get(i);
            if (d == null || d < 0) {
                throw new IllegalArgumentException(
                        "tensor '" + field + "': dimension " + i + " of shape " + dims + " must be >= 0");
            }
            count *= d;
            if (count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(
                        "tensor '" + field + "': shape " + dims + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        int size = elementSize(tensor.getDtype());
        long expectedBytes = count * size;
        int actualBytes = tensor.getData().remaining();
        if (actualBytes != expectedBytes) {
            throw new IllegalArgumentException("tensor '" + field + "': shape " + dims + " of " + tensor.getDtype()
                    + " (" + size + " bytes each) needs " + expectedBytes + " data bytes but has " + actualBytes);
        }
        return (int) count;
    }

    private static long elementCount(int[] shape, String field) {
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("tensor '" + field + "': dimension " + i + " of shape "
                        + Arrays.toString(shape) + " must be >= 0");
            }
            count *= shape[i];
            if (count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor '" + field + "': shape " + Arrays.toString(shape)
                        + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        return count;
    }
}
