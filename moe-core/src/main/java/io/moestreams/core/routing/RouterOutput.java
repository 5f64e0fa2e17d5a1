package io.moestreams.core.routing;

/**
 * A router's decision for one sequence, before capacity is applied.
 *
 * @param seqLen        S
 * @param numExperts    E
 * @param logits        row-major [S, E], z = W_g·x
 * @param probs         row-major [S, E], softmax(z) (for noisy top-k with noise on: softmax of the noisy logits H)
 * @param choices       per token, the chosen experts in rank order (first choice first)
 * @param weights       per token, the gate weight of each choice, aligned with {@code choices}
 * @param final_        true when the router already applied capacity itself (expert choice); the capacity
 *                      planner then passes the choices through unchanged
 * @param sharedWeights per token, the weight of each shared expert ([S][numShared]: 1, or qwen2_moe's
 *                      sigmoid(shared_expert_gate·x)); {@code [S][0]} for a model without shared experts. Capacity
 *                      never applies to shared experts
 */
public record RouterOutput(
        int seqLen,
        int numExperts,
        float[] logits,
        float[] probs,
        int[][] choices,
        float[][] weights,
        boolean final_,
        float[][] sharedWeights) {

    public RouterOutput {
        if (logits.length != seqLen * numExperts || probs.length != seqLen * numExperts) {
            throw new IllegalArgumentException("logits/probs must be [" + seqLen + "," + numExperts + "]");
        }
        if (choices.length != seqLen || weights.length != seqLen) {
            throw new IllegalArgumentException("choices/weights must have one entry per token (" + seqLen + ")");
        }
        for (int t = 0; t < seqLen; t++) {
            if (choices[t].length != weights[t].length) {
                throw new IllegalArgumentException(
                        "token " + t + ": " + choices[t].length + " choices but " + weights[t].length + " weights");
            }
        }
        if (sharedWeights == null) {
            sharedWeights = new float[seqLen][0];
        }
        if (sharedWeights.length != seqLen) {
            throw new IllegalArgumentException("sharedWeights must have one entry per token (" + seqLen + ")");
        }
        for (int t = 1; t < seqLen; t++) {
            if (sharedWeights[t].length != sharedWeights[0].length) {
                throw new IllegalArgumentException("sharedWeights: token " + t + " has " + sharedWeights[t].length
                        + " weights, token 0 has " + sharedWeights[0].length);
            }
        }
    }

    /** Without shared experts. */
    public RouterOutput(
            int seqLen,
            int numExperts,
            float[] logits,
            float[] probs,
            int[][] choices,
            float[][] weights,
            boolean final_) {
        this(seqLen, numExperts, logits, probs, choices, weights, final_, null);
    }

    /** Number of shared experts whose weights this output carries. */
    public int numShared() {
        return seqLen == 0 ? 0 : sharedWeights[0].length;
    }

    /** The same decision with the given shared-expert weights [S][numShared]. */
    public RouterOutput withSharedWeights(float[][] shared) {
        return new RouterOutput(seqLen, numExperts, logits, probs, choices, weights, final_, shared);
    }

    /** p of expert {@code expert} at position {@code position}. */
    public float prob(int position, int expert) {
        return probs[position * numExperts + expert];
    }

    /** z of expert {@code expert} at position {@code position}. */
    public float logit(int position, int expert) {
        return logits[position * numExperts + expert];
    }

    @Override
    public String toString() {
        return "RouterOutput[seqLen=" + seqLen + ", numExperts=" + numExperts + ", final=" + final_ + ", shared="
                + numShared() + "]";
    }
}
