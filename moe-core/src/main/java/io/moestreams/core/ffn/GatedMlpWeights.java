package io.moestreams.core.ffn;

import io.moestreams.core.config.Activation;

/**
 * A gated MLP expert: {@code y = down · (act(gate·x + bg) ⊙ (up·x + bu)) + bd} (SwiGLU when act = silu). Used by
 * mixtral (w1 = gate, w3 = up, w2 = down), qwen2_moe / qwen3_moe / olmoe / deepseek (gate_proj, up_proj,
 * down_proj) and granitemoe (the two halves of input_linear, output_linear). Biases are null except for
 * deepseek_v2 with {@code mlp_bias}.
 *
 * @param gate     [f, d]
 * @param up       [f, d]
 * @param down     [d, f]
 * @param gateBias [f] or null
 * @param upBias   [f] or null
 * @param downBias [d] or null
 */
public record GatedMlpWeights(
        ExpertRef ref,
        int hiddenSize,
        int intermediateSize,
        Activation activation,
        float[] gate,
        float[] up,
        float[] down,
        float[] gateBias,
        float[] upBias,
        float[] downBias)
        implements ExpertWeights {

    public GatedMlpWeights {
        ExpertWeights.checkSizes(ref, hiddenSize, intermediateSize);
        if (activation == null) {
            throw new IllegalArgumentException(ref + ": activation expected, found nothing");
        }
        ExpertWeights.check(ref, "gate", gate, intermediateSize, hiddenSize);
        ExpertWeights.check(ref, "up", up, intermediateSize, hiddenSize);
        ExpertWeights.check(ref, "down", down, hiddenSize, intermediateSize);
        ExpertWeights.checkBias(ref, "gate bias", gateBias, intermediateSize);
        ExpertWeights.checkBias(ref, "up bias", upBias, intermediateSize);
        ExpertWeights.checkBias(ref, "down bias", downBias, hiddenSize);
    }

    /** Without biases. */
    public GatedMlpWeights(
            ExpertRef ref,
            int hiddenSize,
            int intermediateSize,
            Activation activation,
            float[] gate,
            float[] up,
            float[] down) {
        this(ref, hiddenSize, intermediateSize, activation, gate, up, down, null, null, null);
    }

    public boolean hasBiases() {
        return gateBias != null || upBias != null || downBias != null;
    }

    @Override
    public long parameterCount() {
        long n = 3L * hiddenSize * intermediateSize;
        n += gateBias == null ? 0 : intermediateSize;
        n += upBias == null ? 0 : intermediateSize;
        n += downBias == null ? 0 : hiddenSize;
        return n;
    }

    @Override
    public ExpertFfn build(FfnBackend backend) {
        return backend.gated(this);
    }

    @Override
    public String toString() {
        return "GatedMlpWeights[" + ref + ", d=" + hiddenSize + ", f=" + intermediateSize + ", activation="
                + activation.json() + ", biases=" + hasBiases() + "]";
    }
}
