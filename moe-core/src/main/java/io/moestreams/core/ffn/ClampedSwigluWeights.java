package io.moestreams.core.ffn;

/**
 * A gpt-oss expert (modeling_gpt_oss.py, GptOssExperts): {@code g = gate·x + bg}, {@code u = up·x + bu},
 * {@code g = min(g, limit)}, {@code u = clamp(u, -limit, limit)}, {@code h = (u + 1) ⊙ g ⊙ σ(alpha·g)},
 * {@code y = down·h + bd}. The checkpoint's fused, interleaved {@code gate_up_proj [E, d, 2f]} (gate = even
 * columns) is split into {@code gate} and {@code up} in the {@code [out, in]} layout when loading.
 *
 * @param gate     [f, d]
 * @param up       [f, d]
 * @param down     [d, f]
 * @param gateBias [f]
 * @param upBias   [f]
 * @param downBias [d]
 * @param alpha    1.702 in gpt-oss
 * @param limit    7.0 in gpt-oss
 */
public record ClampedSwigluWeights(
        ExpertRef ref,
        int hiddenSize,
        int intermediateSize,
        float[] gate,
        float[] up,
        float[] down,
        float[] gateBias,
        float[] upBias,
        float[] downBias,
        double alpha,
        double limit)
        implements ExpertWeights {

    public ClampedSwigluWeights {
        ExpertWeights.checkSizes(ref, hiddenSize, intermediateSize);
        ExpertWeights.check(ref, "gate", gate, intermediateSize, hiddenSize);
        ExpertWeights.check(ref, "up", up, intermediateSize, hiddenSize);
        ExpertWeights.check(ref, "down", down, hiddenSize, intermediateSize);
        ExpertWeights.check(ref, "gate bias", gateBias, 1, intermediateSize);
        ExpertWeights.check(ref, "up bias", upBias, 1, intermediateSize);
        ExpertWeights.check(ref, "down bias", downBias, 1, hiddenSize);
        if (!(alpha > 0) || !Double.isFinite(alpha) || !(limit > 0) || !Double.isFinite(limit)) {
            throw new IllegalArgumentException(
                    ref + ": alpha and limit expected finite and > 0, found " + alpha + " and " + limit);
        }
    }

    @Override
    public long parameterCount() {
        return 3L * hiddenSize * intermediateSize + 2L * intermediateSize + hiddenSize;
    }

    @Override
    public ExpertFfn build(FfnBackend backend) {
        return backend.clampedSwiglu(this);
    }

    @Override
    public String toString() {
        return "ClampedSwigluWeights[" + ref + ", d=" + hiddenSize + ", f=" + intermediateSize + ", alpha=" + alpha
                + ", limit=" + limit + "]";
    }
}
