package io.moestreams.core.ffn;

/**
 * One expert feed-forward network, evaluated over a batch of rows with one GEMM chain. Implementations come from
 * a {@link FfnBackend}. Not thread-safe: it reuses its buffers across calls.
 */
public interface ExpertFfn extends AutoCloseable {

    /** Which expert this is (routed or shared). */
    ExpertRef ref();

    /** The routed expert id, or the shared expert's index (see {@link #ref()}). */
    default int expertId() {
        return ref().index();
    }

    int hiddenSize();

    /**
     * out[i] = scale[i] · expert(rows[i]) for i &lt; n.
     *
     * <p>Batch-invariant: the bits of out[i] depend only on rows[i], scale[i] and the weights, never on n, on the other
     * rows or on i, so a row computed alone (the reference layer) and in any micro-batch (an expert worker) gives the
     * same bytes (docs/architecture.md, "Bit-exact outputs").
     *
     * @param rows  row-major [n, hiddenSize]; only the first n·d values are read
     * @param n     number of rows, &gt;= 1
     * @param scale per-row gate weights (length &gt;= n), or null for 1
     * @param out   row-major [n, hiddenSize]; only the first n·d values are written
     */
    void forward(float[] rows, int n, float[] scale, float[] out);

    @Override
    void close();
}
