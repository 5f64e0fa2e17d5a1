package io.moestreams.core.routing;

/**
 * The routing of one sequence after capacity: for every token the experts that serve it and their gate weights,
 * in rank order, plus the positions whose every choice was dropped. Output of position t is
 * Σ_j weights[t][j] · expert_{experts[t][j]}(x_t), summed in j order starting from 0.0f.
 *
 * @param seqLen   S
 * @param experts  per token, experts in rank order (empty for a dropped token)
 * @param weights  per token, gate weights aligned with {@code experts}
 * @param dropped  ascending positions whose every choice overflowed (or that no expert took)
 * @param capacity slots per expert for this sequence, or -1 when unlimited
 * @param sharedWeights per token, the weight of each shared expert ([S][numShared], [S][0] without shared
 *                 experts). Every token, dropped or not, is dispatched to every shared expert with this weight;
 *                 shared experts are never listed in {@code experts}
 */
public record Assignment(
        int seqLen, int[][] experts, float[][] weights, int[] dropped, int capacity, float[][] sharedWeights) {

    public Assignment {
        if (experts.length != seqLen || weights.length != seqLen) {
            throw new IllegalArgumentException("experts/weights must have one entry per token (" + seqLen + ")");
        }
        for (int t = 0; t < seqLen; t++) {
            if (experts[t].length != weights[t].length) {
                throw new IllegalArgumentException(
                        "token " + t + ": " + experts[t].length + " experts but " + weights[t].length + " weights");
            }
        }
        if (sharedWeights == null) {
            sharedWeights = new float[seqLen][0];
        }
        if (sharedWeights.length != seqLen) {
            throw new IllegalArgumentException("sharedWeights must have one entry per token (" + seqLen + ")");
        }
    }

    /** Without shared experts. */
    public Assignment(int seqLen, int[][] experts, float[][] weights, int[] dropped, int capacity) {
        this(seqLen, experts, weights, dropped, capacity, null);
    }

    /** Number of shared experts every token visits. */
    public int numShared() {
        return seqLen == 0 ? 0 : sharedWeights[0].length;
    }

    /** The weight of shared expert {@code s} for every position, in position order. */
    public float[] sharedWeightsFor(int s) {
        if (s < 0 || s >= numShared()) {
            throw new IllegalArgumentException("shared expert index expected in [0," + numShared() + "), found " + s);
        }
        float[] w = new float[seqLen];
        for (int t = 0; t < seqLen; t++) {
            w[t] = sharedWeights[t][s];
        }
        return w;
    }

    /** Number of tokens each expert serves in this sequence (the slots it uses). */
    public int[] tokensPerExpert(int numExperts) {
        int[] counts = new int[numExperts];
        for (int[] row : experts) {
            for (int x : row) {
                checkExpert(x, numExperts);
                counts[x]++;
            }
        }
        return counts;
    }

    /** Ascending positions routed to {@code expert}. */
    public int[] positionsFor(int expert) {
        int n = 0;
        for (int[] row : experts) {
            for (int x : row) {
                if (x == expert) {
                    n++;
                }
            }
        }
        int[] positions = new int[n];
        int i = 0;
        for (int t = 0; t < seqLen; t++) {
            for (int x : experts[t]) {
                if (x == expert) {
                    positions[i++] = t;
                }
            }
        }
        return positions;
    }

    /** Gate weights of the tokens routed to {@code expert}, aligned with {@link #positionsFor(int)}. */
    public float[] weightsFor(int expert) {
        int n = 0;
        for (int[] row : experts) {
            for (int x : row) {
                if (x == expert) {
                    n++;
                }
            }
        }
        float[] result = new float[n];
        int i = 0;
        for (int t = 0; t < seqLen; t++) {
            for (int j = 0; j < experts[t].length; j++) {
                if (experts[t][j] == expert) {
                    result[i++] = weights[t][j];
                }
            }
        }
        return result;
    }

    private static void checkExpert(int expert, int numExperts) {
        if (expert < 0 || expert >= numExperts) {
            throw new IllegalArgumentException("expert index expected in [0," + numExperts + "), found " + expert);
        }
    }

    @Override
    public String toString() {
        return "Assignment[seqLen=" + seqLen + ", dropped=" + dropped.length + ", capacity=" + capacity + "]";
    }
}
