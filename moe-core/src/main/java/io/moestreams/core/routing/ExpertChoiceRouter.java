package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;
import java.util.Arrays;

/**
 * Expert-choice routing (Zhou et al. 2022): every expert takes the C tokens of the sequence with the highest p
 * (ties to the lower position), weight = p. C = ceil(capacity_factor·k·S/E) with k = top_k, or S without a
 * capacity limit, and never more than S. A token's choices are the experts that took it by descending p (ties
 * to the lower expert index); a token no expert took has no choice. The output is final (capacity applied).
 */
final class ExpertChoiceRouter extends GateRouter {

    ExpertChoiceRouter(MoeConfig config, float[] gateWeight) {
        super(config, gateWeight);
    }

    /** Tokens each expert takes from a sequence of {@code seqLen} tokens. */
    static int capacity(MoeConfig config, int seqLen) {
        if (config.capacityLimit().isEmpty()) {
            return seqLen;
        }
        int c = CapacityPlanner.capacity(
                config.capacityLimit().getAsDouble(), config.router().topK(), seqLen, config.numExperts());
        return Math.min(c, seqLen);
    }

    @Override
    RouterOutput route(String requestId, float[] hidden, int seqLen, float[] logits) {
        int e = numExperts;
        float[] probs = new float[seqLen * e];
        double[][] p = new double[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            p[t] = Gating.softmax(logits, t * e, e);
            Gating.store(p[t], probs, t * e);
        }
        int c = capacity(config, seqLen);
        boolean[][] taken = new boolean[seqLen][e];
        int[] takenCount = new int[seqLen];
        Integer[] order = new Integer[seqLen];
        for (int x = 0; x < e; x++) {
            final int expert = x;
            for (int t = 0; t < seqLen; t++) {
                order[t] = t;
            }
            Arrays.sort(order, (a, b) -> {
                int cmp = Double.compare(p[b][expert], p[a][expert]);
                return cmp != 0 ? cmp : Integer.compare(a, b);
            });
            for (int i = 0; i < c; i++) {
                int t = order[i];
                taken[t][x] = true;
                takenCount[t]++;
            }
        }
        int[][] choices = new int[seqLen][];
        float[][] weights = new float[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            double[] masked = new double[e];
            for (int x = 0; x < e; x++) {
                masked[x] = taken[t][x] ? p[t][x] : Double.NEGATIVE_INFINITY;
            }
            int[] ranked = Gating.topK(masked, takenCount[t]);
            float[] w = new float[ranked.length];
            for (int r = 0; r < ranked.length; r++) {
                w[r] = (float) p[t][ranked[r]];
            }
            choices[t] = ranked;
            weights[t] = w;
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, true);
    }
}
