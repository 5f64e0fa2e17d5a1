package io.moestreams.core.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor to be written by {@link SafetensorsWriter}: name, stored dtype and shape.
 *
 * @param name  tensor name
 * @param dtype stored element type: F32, F16 or BF16 for {@link SafetensorsWriter#write(String, float[])}, any dtype
 *              for {@link SafetensorsWriter#writeRaw(String, byte[])} (U8 MXFP4 blocks, F8_E4M3 weights)
 * @param shape dimensions (copied)
 */
public record TensorSpec(String name, SafetensorsDtype dtype, long[] shape) {

    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = Shapes.checkedCopy(name, shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Product of the dimensions. */
    public long numElements() {
        return Shapes.numElements(shape);
    }

    /** Stored size in bytes. */
    public long byteLength() {
        return Math.multiplyExact(numElements(), dtype.byteSize());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return "TensorSpec[name=" + name + ", dtype=" + dtype + ", shape=" + Arrays.toString(shape) + "]";
    }
}
