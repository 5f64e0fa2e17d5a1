package io.moestreams.compute.ffn;

import java.util.Arrays;

/**
 * Where the n rows of one forward go inside the FFN's buffers: split into parts of at most {@value #MAX_PART_ROWS}
 * rows, each part single-threaded GEMM calls per weight matrix (one per column chunk, see {@link FixedOrderGemm}), laid
 * out as {@code [GUARD zero rows | the part's rows, padded with zero rows to a multiple
 * of ALIGN | GUARD zero rows]}. This layout is what makes a row's result independent of the batch (see
 * docs/architecture.md, "Bit-exact outputs"): OpenBLAS's kernel adds a row's products in a different order only when
 * the row is among the first or last {@value #GUARD} rows of a call, sits in a tail shorter than {@value #ALIGN}
 * rows, or shares a call of more than {@value #MAX_CALL_ROWS} rows (its L2 blocking); real rows never do.
 *
 * @param rows    real rows, n
 * @param first   per part, its first row in the batch
 * @param count   per part, its real rows
 * @param base    per part, its first buffer row (the first guard row)
 * @param height  per part, its buffer rows: guard + count rounded up to {@value #ALIGN} + guard
 * @param total   buffer rows of all parts (the GEMMs' leading dimension)
 */
record RowPlan(int rows, int[] first, int[] count, int[] base, int[] height, int total) {

    /** Zero rows before and after each part's rows. */
    static final int GUARD = 8;

    /** A part's rows are padded to a multiple of this (OpenBLAS's row tile on x86-64). */
    static final int ALIGN = 8;

    /**
     * The most buffer rows one GEMM call holds: OpenBLAS's row block on Zen (SGEMM_DEFAULT_P), so a call is one block
     * and its blocking does not depend on the batch.
     */
    static final int MAX_CALL_ROWS = 320;

    /** The most real rows of one part. */
    static final int MAX_PART_ROWS = MAX_CALL_ROWS - 2 * GUARD;

    /**
     * Plans n rows in as few balanced parts as fit {@value #MAX_PART_ROWS} rows each. The plan changes only the
     * speed, never a row's result.
     */
    static RowPlan of(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n: expected >= 1 rows, found " + n);
        }
        int parts = (n + MAX_PART_ROWS - 1) / MAX_PART_ROWS;
        int[] first = new int[parts];
        int[] count = new int[parts];
        int[] base = new int[parts];
        int[] height = new int[parts];
        int row = 0;
        int bufferRow = 0;
        for (int p = 0; p < parts; p++) {
            int c = n / parts + (p < n % parts ? 1 : 0);
            first[p] = row;
            count[p] = c;
            base[p] = bufferRow;
            height[p] = GUARD + roundUp(c) + GUARD;
            row += c;
            bufferRow += height[p];
        }
        return new RowPlan(n, first, count, base, height, bufferRow);
    }

    private static int roundUp(int c) {
        return (c + ALIGN - 1) / ALIGN * ALIGN;
    }

    int parts() {
        return first.length;
    }

    /** The buffer row of the part's first real row. */
    int interior(int part) {
        return base[part] + GUARD;
    }

    @Override
    public String toString() {
        return "RowPlan[rows=" + rows + ", parts=" + Arrays.toString(count) + ", bufferRows=" + total + "]";
    }
}
