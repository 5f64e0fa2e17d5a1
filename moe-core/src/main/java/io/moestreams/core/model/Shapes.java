package io.moestreams.core.model;

import java.util.Arrays;
import java.util.Objects;

/** Tensor-shape checks shared by {@link TensorInfo} and {@link TensorSpec}. */
final class Shapes {

    private Shapes() {}

    /** A copy of {@code shape}, rejecting negative dimensions with a message naming the tensor. */
    static long[] checkedCopy(String tensor, long[] shape) {
        long[] copy = Objects.requireNonNull(shape, "shape").clone();
        for (long dim : copy) {
            if (dim < 0) {
                throw new IllegalArgumentException(
                        "tensor " + tensor + ": negative dimension in shape " + Arrays.toString(copy));
            }
        }
        return copy;
    }

    /** Product of the dimensions (1 for a scalar). */
    static long numElements(long[] shape) {
        long n = 1;
        for (long dim : shape) {
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }
}
