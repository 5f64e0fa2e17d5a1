package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;

/**
 * GShard top-2 gating (Lepikhin et al. 2020): the two largest p, renormalised by their sum
 * (g1' = g1 / (g1 + g2), g2' = g2 / (g1 + g2)). With random routing the second expert is kept only if
 * 2·g2' &gt; u, u = the first {@code nextDouble()} of {@link SeededRandom#forToken}(model seed, request id, t);
 * otherwise the token has its first choice alone, with weight g1' (not renormalised to 1).
 */
final class GShardTop2Router extends GateRouter {

    private final boolean randomRouting;

    GShardTop2Router(MoeConfig config, float[] gateWeight) {
        super(config, gateWeight);
        this.randomRouting = config.router().randomRouting();
    }

    @Override
    RouterOutput route(String requestId, float[] hidden, int seqLen, float[] logits) {
        if (randomRouting) {
            requireRequestId(requestId);
        }
        int e = numExperts;
        float[] probs = new float[seqLen * e];
        int[][] choices = new int[seqLen][];
        float[][] weights = new float[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            double[] p = Gating.softmax(logits, t * e, e);
            Gating.store(p, probs, t * e);
            int[] top = Gating.topK(p, 2);
            double sum = p[top[0]] + p[top[1]];
            double g1 = p[top[0]] / sum;
            double g2 = p[top[1]] / sum;
            boolean keepSecond = !randomRouting
                    || 2.0 * g2
                            > SeededRandom.forToken(config.seed(), requestId, t).nextDouble();
            if (keepSecond) {
                choices[t] = top;
                weights[t] = new float[] {(float) g1, (float) g2};
            } else {
                choices[t] = new int[] {top[0]};
                weights[t] = new float[] {(float) g1};
            }
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, false);
    }
}
