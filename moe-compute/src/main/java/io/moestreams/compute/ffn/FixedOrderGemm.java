package io.moestreams.compute.ffn;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasColMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * The FFN's matrix products with a fixed reduction order per row: each part of a {@link RowPlan} is one
 * single-threaded OpenBLAS sgemm whose M dimension is the rows (column-major outputs, leading dimension = the plan's
 * buffer rows), so every real row sits in the interior of its call and its dot products are accumulated the same way
 * whatever the batch (docs/architecture.md, "Bit-exact outputs"). Weights stay in PyTorch's {@code [out, in]}
 * row-major layout, which is column-major {@code [in, out]}: no copy.
 *
 * <p>Parallelism comes from splitting the output columns into fixed chunks of {@value #CHUNK} (the last one shorter):
 * the chunking depends only on the weight's shape, never on the batch or the machine, so a column is always computed
 * by the same kernel path. The (part, chunk) tasks run on {@link Nd4jSupport#parallelism()} threads; OpenBLAS itself
 * runs single-threaded (its own threads would split a call's rows at batch-dependent places).
 */
final class FixedOrderGemm {

    /** Output columns per GEMM call. */
    static final int CHUNK = 256;

    private FixedOrderGemm() {}

    /** Column chunks of an output with {@code out} columns. */
    static int chunks(int out) {
        return (out + CHUNK - 1) / CHUNK;
    }

    /** The first output column of a chunk. */
    static int firstColumn(int chunk) {
        return chunk * CHUNK;
    }

    /** The columns of a chunk of an output with {@code out} columns ({@value #CHUNK}, the last one fewer). */
    static int columns(int out, int chunk) {
        return Math.min(CHUNK, out - chunk * CHUNK);
    }

    /**
     * Runs {@code task(part, chunk)} for every part of the plan and every column chunk of {@code out}, concurrently,
     * chunk by chunk: the parts of one chunk are handed out one after the other, so threads that work on the same
     * chunk at the same time read its weights from memory once and share them in the cache (a weight matrix is far
     * larger than the cache).
     */
    static void forEach(RowPlan plan, int out, int maxThreads, PartChunk task) {
        int parts = plan.parts();
        Nd4jSupport.forEach(parts * chunks(out), maxThreads, t -> task.run(t % parts, t / parts));
    }

    /** One (part, column chunk) task. */
    @FunctionalInterface
    interface PartChunk {
        void run(int part, int chunk);
    }

    /**
     * C[rows of part, columns of chunk] = alpha · X · Wᵀ: X row-major {@code [total, in]} (the input panel), W
     * row-major {@code [out, in]}, C column-major {@code [total, out]}.
     */
    static void rowsTimesWeights(
            RowPlan plan, Panel x, FloatPointer w, int in, int out, Panel c, float alpha, int part, int chunk) {
        long base = plan.base()[part];
        long j0 = firstColumn(chunk);
        openblas_nolapack.cblas_sgemm(
                CblasColMajor,
                CblasTrans,
                CblasNoTrans,
                plan.height()[part],
                columns(out, chunk),
                in,
                alpha,
                x.at(base * in),
                in,
                new FloatPointer(w).position(j0 * in),
                in,
                0f,
                c.at(base + j0 * plan.total()),
                plan.total());
    }

    /**
     * C[rows of part, columns of chunk] = alpha · A · Wᵀ: A column-major {@code [total, in]}, W row-major
     * {@code [out, in]}, C column-major {@code [total, out]}.
     */
    static void columnsTimesWeights(
            RowPlan plan, Panel a, FloatPointer w, int in, int out, Panel c, float alpha, int part, int chunk) {
        long base = plan.base()[part];
        long j0 = firstColumn(chunk);
        openblas_nolapack.cblas_sgemm(
                CblasColMajor,
                CblasNoTrans,
                CblasNoTrans,
                plan.height()[part],
                columns(out, chunk),
                in,
                alpha,
                a.at(base),
                plan.total(),
                new FloatPointer(w).position(j0 * in),
                in,
                0f,
                c.at(base + j0 * plan.total()),
                plan.total());
    }
}
