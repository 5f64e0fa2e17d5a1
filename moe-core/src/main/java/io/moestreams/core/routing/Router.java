package io.moestreams.core.routing;

/**
 * Token-level gating for one sequence (one routing group). Implementations are pure functions of
 * the router weights, the model seed, the request id and the hidden rows, so a replay routes identically.
 */
public interface Router {

    /**
     * Routes every token of a sequence.
     *
     * @param requestId seeds the noise of noisy / random routing
     * @param hidden    row-major [seqLen, hiddenSize]
     * @param seqLen    S &gt;= 1
     * @return per-token ranked choices before capacity
     */
    RouterOutput route(String requestId, float[] hidden, int seqLen);

    int numExperts();

    int hiddenSize();

    /**
     * Shared experts whose weights {@link #route} reports in {@link RouterOutput#sharedWeights()} (0 for most
     * models).
     */
    default int numShared() {
        return 0;
    }
}
