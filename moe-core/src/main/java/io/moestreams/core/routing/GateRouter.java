package io.moestreams.core.routing;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;

/**
 * Common part of every router: the gate projection z = W_g·x (+ b when the router has a bias, gpt_oss and
 * switch_transformers with router_bias), accumulated in double and stored as float.
 */
abstract class GateRouter implements Router {

    final MoeConfig config;
    final int numExperts;
    final int hiddenSize;
    private final float[] gateWeight;
    private final float[] gateBias;

    GateRouter(MoeConfig config, float[] gateWeight) {
        this(config, tensorName(config, gateTensor(config)), gateWeight, null);
    }

    /**
     * @param gateName   the weight's tensor name, for errors
     * @param gateWeight [E, d]
     * @param gateBias   [E] or null
     */
    GateRouter(MoeConfig config, String gateName, float[] gateWeight, float[] gateBias) {
        this.config = config;
        this.numExperts = config.numExperts();
        this.hiddenSize = config.hiddenSize();
        this.gateWeight =
                checkShape(gateName, gateWeight, numExperts, hiddenSize).clone();
        this.gateBias = gateBias == null
                ? null
                : checkShape(gateName + " bias", gateBias, 1, numExperts).clone();
    }

    /** {@code gate.weight} (Mixtral) or {@code router.classifier.weight} (SwitchTransformers). */
    static String gateTensor(MoeConfig config) {
        return switch (config.format()) {
            case SWITCH -> "router.classifier.weight";
            case HUGGING_FACE -> "router weight";
            default -> "gate.weight";
        };
    }

    static String tensorName(MoeConfig config, String name) {
        return config.tensorPrefix() + name;
    }

    static float[] checkShape(String name, float[] weight, int rows, int cols) {
        if (weight == null) {
            throw new ModelConfigException(name, "a tensor [" + rows + "," + cols + "]", "nothing");
        }
        if (weight.length != rows * cols) {
            throw new ModelConfigException(
                    name, "[" + rows + "," + cols + "] = " + (rows * cols) + " values", weight.length + " values");
        }
        return weight;
    }

    @Override
    public final RouterOutput route(String requestId, float[] hidden, int seqLen) {
        if (seqLen < 1) {
            throw new IllegalArgumentException("seqLen: expected >= 1, found " + seqLen);
        }
        if (hidden == null || hidden.length != seqLen * hiddenSize) {
            throw new IllegalArgumentException(
                    "hidden: expected [" + seqLen + "," + hiddenSize + "] = " + (seqLen * hiddenSize)
                            + " values, found " + (hidden == null ? "nothing" : hidden.length + " values"));
        }
        float[] logits = Gating.project(gateWeight, gateBias, numExperts, hiddenSize, hidden, seqLen);
        return route(requestId, hidden, seqLen, logits);
    }

    /** Routes given the already computed logits [seqLen, E]. */
    abstract RouterOutput route(String requestId, float[] hidden, int seqLen, float[] logits);

    static String requireRequestId(String requestId) {
        if (requestId == null) {
            throw new IllegalArgumentException(
                    "requestId: expected a request id to seed the routing noise, found null");
        }
        return requestId;
    }

    @Override
    public final int numExperts() {
        return numExperts;
    }

    @Override
    public final int hiddenSize() {
        return hiddenSize;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[experts=" + numExperts + ", hidden=" + hiddenSize + ", topK="
                + config.router().topK() + "]";
    }
}
