package io.moestreams.core.ffn;

import io.moestreams.core.config.Activation;

/**
 * A two-layer expert {@code y = wo · act(wi·x)}: SwitchTransformers' DenseActDense ({@code wi}, {@code wo}).
 *
 * @param wi [f, d]
 * @param wo [d, f]
 */
public record DenseMlpWeights(
        ExpertRef ref, int hiddenSize, int intermediateSize, Activation activation, float[] wi, float[] wo)
        implements ExpertWeights {

    public DenseMlpWeights {
        ExpertWeights.checkSizes(ref, hiddenSize, intermediateSize);
        if (activation == null) {
            throw new IllegalArgumentException(ref + ": activation expected, found nothing");
        }
        ExpertWeights.check(ref, "wi", wi, intermediateSize, hiddenSize);
        ExpertWeights.check(ref, "wo", wo, hiddenSize, intermediateSize);
    }

    @Override
    public long parameterCount() {
        return 2L * hiddenSize * intermediateSize;
    }

    @Override
    public ExpertFfn build(FfnBackend backend) {
        return backend.denseActDense(this);
    }

    @Override
    public String toString() {
        return "DenseMlpWeights[" + ref + ", d=" + hiddenSize + ", f=" + intermediateSize + ", activation="
                + activation.json() + "]";
    }
}
