package io.moestreams.core.routing;

/**
 * Adds the shared experts' weights to another router's output: every token visits every shared expert, with
 * weight sigmoid(g·x) for qwen2_moe ({@code shared_expert_gate.weight} g [1, d], computed in double) or 1 for
 * deepseek. Uses only router-side tensors, so the gateway can compute it.
 */
public final class SharedExpertRouter implements Router {

    private final Router routed;
    private final int numShared;
    private final float[] sharedGate;

    private SharedExpertRouter(Router routed, int numShared, float[] sharedGate) {
        this.routed = routed;
        this.numShared = numShared;
        this.sharedGate = sharedGate;
    }

    /** Shared experts with weight 1 (deepseek_v2 / deepseek_v3). */
    public static Router unitWeight(Router routed, int numShared) {
        if (numShared < 1) {
            throw new IllegalArgumentException("numShared: expected >= 1, found " + numShared);
        }
        return new SharedExpertRouter(routed, numShared, null);
    }

    /**
     * One shared expert weighted by sigmoid(g·x) (qwen2_moe).
     *
     * @param gateName the tensor name of g, for errors
     * @param gate     [1, d]
     */
    public static Router sigmoidGated(Router routed, String gateName, float[] gate) {
        return new SharedExpertRouter(
                routed,
                1,
                GateRouter.checkShape(gateName, gate, 1, routed.hiddenSize()).clone());
    }

    @Override
    public RouterOutput route(String requestId, float[] hidden, int seqLen) {
        RouterOutput out = routed.route(requestId, hidden, seqLen);
        int d = routed.hiddenSize();
        float[][] shared = new float[seqLen][numShared];
        for (int t = 0; t < seqLen; t++) {
            for (int s = 0; s < numShared; s++) {
                shared[t][s] =
                        sharedGate == null ? 1.0f : (float) Gating.sigmoid(Gating.dot(sharedGate, 0, hidden, t * d, d));
            }
        }
        return out.withSharedWeights(shared);
    }

    @Override
    public int numExperts() {
        return routed.numExperts();
    }

    @Override
    public int hiddenSize() {
        return routed.hiddenSize();
    }

    @Override
    public int numShared() {
        return numShared;
    }

    @Override
    public String toString() {
        return "SharedExpertRouter[" + routed + ", shared=" + numShared + (sharedGate == null ? "" : ", gated") + "]";
    }
}
