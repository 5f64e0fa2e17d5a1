package io.moestreams.core.ffn;

/**
 * The F32 weights of one expert FFN, in one of the FFN variants the model families use. A {@link FfnBackend}
 * turns them into an {@link ExpertFfn}; moe-core itself does no FFN arithmetic. Matrices are row-major in the
 * PyTorch {@code [out, in]} layout. {@code toString()} never prints the tensors.
 */
public sealed interface ExpertWeights permits GatedMlpWeights, DenseMlpWeights, ClampedSwigluWeights {

    ExpertRef ref();

    /** d. */
    int hiddenSize();

    /** f, the expert's inner width. */
    int intermediateSize();

    /** Number of weight values (for memory planning). */
    long parameterCount();

    /** Builds the FFN of this variant with the backend (double dispatch: one named implementation per variant). */
    ExpertFfn build(FfnBackend backend);

    /** Checks that a weight array holds exactly {@code rows x cols} values. */
    static float[] check(ExpertRef ref, String what, float[] values, int rows, int cols) {
        if (values == null || values.length != (long) rows * cols) {
            throw new IllegalArgumentException(ref + " " + what + ": expected " + ((long) rows * cols)
                    + " values for shape [" + rows + ", " + cols + "], found "
                    + (values == null ? "nothing" : values.length));
        }
        return values;
    }

    /** Like {@link #check} for an optional bias vector (null allowed). */
    static float[] checkBias(ExpertRef ref, String what, float[] values, int n) {
        return values == null ? null : check(ref, what, values, 1, n);
    }

    /** Checks the sizes shared by every variant. */
    static void checkSizes(ExpertRef ref, int hiddenSize, int intermediateSize) {
        if (ref == null) {
            throw new IllegalArgumentException("expert ref: expected a routed or shared expert, found nothing");
        }
        if (hiddenSize < 1 || intermediateSize < 1) {
            throw new IllegalArgumentException(
                    ref + ": hidden/intermediate size expected >= 1, found " + hiddenSize + "/" + intermediateSize);
        }
    }
}
