package io.moestreams.core.jsonl;

import java.util.Arrays;

/** A row-major matrix read from JSON. */
record FloatMatrix(float[] values, int rows, int cols) {
    @Override
    public String toString() {
        return "FloatMatrix[" + rows + "x" + cols + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatMatrix m && rows == m.rows && cols == m.cols && Arrays.equals(values, m.values);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * rows + cols) + Arrays.hashCode(values);
    }
}
