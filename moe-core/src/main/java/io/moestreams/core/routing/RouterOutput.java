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
 */
public record RouterOutput(
        int seqLen, int numExperts, float[] logits, float[] probs, int[][] choices, float[][] weights, boolean final_) {

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
        return "RouterOutput[seqLen=" + seqLen + ", numExperts=" + numExperts + ", final=" + final_ + "]";
    }
}
