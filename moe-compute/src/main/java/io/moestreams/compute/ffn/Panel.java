package io.moestreams.compute.ffn;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A reusable off-heap F32 buffer of {@code capacity × cols} values outside any workspace, grown (contents lost) when a
 * forward needs more rows. The FFN uses it as a column-major {@code [m, cols]} matrix with leading dimension m (the
 * GEMM outputs and intermediates, see {@link FixedOrderGemm}) or, for the input rows, as a row-major
 * {@code [m, cols]} matrix. Bulk copies from / to Java arrays are one native call each.
 */
final class Panel implements AutoCloseable {

    private final int cols;
    private INDArray full;
    private FloatPointer pointer;
    private int capacity;

    Panel(int cols) {
        this.cols = cols;
    }

    int capacity() {
        return capacity;
    }

    /** Makes room for at least {@code rows} rows; the contents are not preserved when it grows. */
    void ensureCapacity(int rows) {
        if (rows <= capacity) {
            return;
        }
        release();
        MemoryWorkspace scope = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
        try {
            full = Nd4j.createUninitialized(DataType.FLOAT, new long[] {(long) rows * cols}, 'c');
        } finally {
            scope.close();
        }
        pointer = new FloatPointer(full.data().addressPointer());
        capacity = rows;
    }

    /**
     * Columns [firstColumn, firstColumn + columns) of the column-major {@code [m, cols]} matrix (all m rows), as a
     * c-order {@code [columns, m]} view: contiguous, for element-wise ops and column broadcasts over a range of
     * columns.
     */
    INDArray columns(int m, int firstColumn, int columns) {
        return Nd4j.create(full.data(), new long[] {columns, m}, new long[] {m, 1}, (long) firstColumn * m, 'c');
    }

    /** A pointer to value {@code offset}: a new object, safe to hand to another thread. */
    FloatPointer at(long offset) {
        return new FloatPointer(pointer).position(offset);
    }

    /** Copies {@code length} values of {@code src} from {@code srcOffset} to value {@code dstOffset}. */
    void put(float[] src, int srcOffset, long dstOffset, int length) {
        pointer.position(dstOffset).put(src, srcOffset, length);
        pointer.position(0);
    }

    /** Sets values [from, to) to zero. */
    void zero(long from, long to) {
        if (to > from) {
            pointer.position(from).limit(to).zero();
            pointer.position(0).limit(pointer.capacity());
        }
    }

    /** Copies {@code length} values from value {@code offset} into {@code dst}; safe to call from several threads. */
    void get(long offset, float[] dst, int length) {
        at(offset).get(dst, 0, length);
    }

    private void release() {
        if (full != null && full.closeable()) {
            full.close();
        }
        full = null;
        pointer = null;
        capacity = 0;
    }

    @Override
    public void close() {
        release();
    }
}
