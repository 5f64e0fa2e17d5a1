package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;

/** Mixtral gating: the k largest p, weights p_i / Σ_selected p when normalising, else p_i. */
final class TopKSoftmaxRouter extends GateRouter {

    private final int topK;
    private final boolean normalize;

    TopKSoftmaxRouter(MoeConfig config, float[] gateWeight) {
        this(config, tensorName(config, gateTensor(config)), gateWeight);
    }

    TopKSoftmaxRouter(MoeConfig config, String gateName, float[] gateWeight) {
        super(config, gateName, gateWeight, null);
        this.topK = config.router().topK();
        this.normalize = config.router().normalize();
    }

    @Override
    RouterOutput route(String requestId, float[] hidden, int seqLen, float[] logits) {
        int e = numExperts;
        float[] probs = new float[seqLen * e];
        int[][] choices = new int[seqLen][];
        float[][] weights = new float[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            double[] p = Gating.softmax(logits, t * e, e);
            Gating.store(p, probs, t * e);
            int[] selected = Gating.topK(p, topK);
            double sum = 0.0;
            for (int i : selected) {
                sum += p[i];
            }
            float[] w = new float[selected.length];
            for (int r = 0; r < selected.length; r++) {
                w[r] = (float) (normalize ? p[selected[r]] / sum : p[selected[r]]);
            }
            choices[t] = selected;
            weights[t] = w;
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, false);
    }
}
