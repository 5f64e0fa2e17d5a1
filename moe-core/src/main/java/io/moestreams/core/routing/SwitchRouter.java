package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;

/** Switch Transformer gating: top-1 e = argmax p with weight p_e (not renormalised). */
final class SwitchRouter extends GateRouter {

    SwitchRouter(MoeConfig config, float[] gateWeight) {
        super(config, gateWeight);
    }

    SwitchRouter(MoeConfig config, String gateName, float[] gateWeight, float[] gateBias) {
        super(config, gateName, gateWeight, gateBias);
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
            int best = Gating.topK(p, 1)[0];
            choices[t] = new int[] {best};
            weights[t] = new float[] {(float) p[best]};
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, false);
    }
}
