package io.moestreams.core.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a safetensors header.
 *
 * @param name  tensor name
 * @param dtype element type
 * @param shape dimensions (a defensive copy is kept; {@link #shape()} returns a copy)
 * @param begin first byte of the tensor, relative to the start of the data section
 * @param end   one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, SafetensorsDtype dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = Shapes.checkedCopy(name, shape);
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("tensor " + name
                    + ": data_offsets must satisfy 0 <= begin <= end, found [" + begin + ", " + end + "]");
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Product of the dimensions (1 for a scalar). */
    public long numElements() {
        return Shapes.numElements(shape);
    }

    /** end - begin. */
    public long byteLength() {
        return end - begin;
    }

    /** True if the shape equals the given dimensions. */
    public boolean hasShape(long... dims) {
        return Arrays.equals(shape, dims);
    }

    /** The shape as text, e.g. {@code [8, 4096]}. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && name.equals(t.name)
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && begin == t.begin
                && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return "TensorInfo[name=" + name + ", dtype=" + dtype + ", shape=" + shapeString() + ", data_offsets=[" + begin
                + ", " + end + "]]";
    }
}
