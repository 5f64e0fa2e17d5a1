package io.moestreams.compute.ffn;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A reusable off-heap F32 matrix of {@code capacity × cols} (c-order) outside any workspace, with a cached
 * {@code [n, cols]} view of its first n rows and bulk copies from / to Java arrays (one native call each).
 */
final class RowBuffer implements AutoCloseable {

    private final int cols;
    private INDArray full;
    private FloatPointer pointer;
    private int capacity;
    private INDArray view;
    private int viewRows = -1;

    RowBuffer(int cols) {
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
            full = Nd4j.createUninitialized(DataType.FLOAT, new long[] {rows, cols}, 'c');
        } finally {
            scope.close();
        }
        pointer = new FloatPointer(full.data().addressPointer());
        capacity = rows;
        viewRows = -1;
        view = null;
    }

    /** The first n rows as a c-order [n, cols] array sharing this buffer's memory. */
    INDArray rows(int n) {
        if (n == capacity) {
            return full;
        }
        if (n != viewRows) {
            view = Nd4j.create(full.data(), new long[] {n, cols}, new long[] {cols, 1}, 0L, 'c');
            viewRows = n;
        }
        return view;
    }

    /** Copies n rows (n·cols floats) from the start of {@code src}. */
    void put(float[] src, int n) {
        pointer.position(0).put(src, 0, n * cols);
    }

    /** Copies n rows (n·cols floats) into the start of {@code dst}. */
    void get(float[] dst, int n) {
        pointer.position(0).get(dst, 0, n * cols);
    }

    private void release() {
        if (full != null && full.closeable()) {
            full.close();
        }
        full = null;
        view = null;
        pointer = null;
        capacity = 0;
    }

    @Override
    public void close() {
        release();
    }
}
