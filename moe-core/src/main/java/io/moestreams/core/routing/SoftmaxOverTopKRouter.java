package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;

/**
 * granitemoe and gpt_oss gating ({@code softmax_over_topk}): z = W·x (+ b for gpt_oss), keep the k largest z
 * (ties to the lower index, rank order = descending z), weights = softmax over the kept z (GraniteMoeTopKRouter,
 * GptOssTopKRouter). {@link RouterOutput#probs()} holds softmax(z) over all experts (for balance metrics).
 */
public final class SoftmaxOverTopKRouter extends GateRouter {

    private final int topK;

    /**
     * @param gateName   the weight's tensor name, for errors
     * @param gateWeight [E, d]
     * @param gateBias   [E] or null
     */
    public SoftmaxOverTopKRouter(MoeConfig config, String gateName, float[] gateWeight, float[] gateBias) {
        super(config, gateName, gateWeight, gateBias);
        if (config.router().type() != RouterType.SOFTMAX_OVER_TOPK) {
            throw new IllegalArgumentException("router.type: expected softmax_over_topk, found "
                    + config.router().type().json());
        }
        this.topK = config.router().topK();
    }

    @Override
    RouterOutput route(String requestId, float[] hidden, int seqLen, float[] logits) {
        int e = numExperts;
        float[] probs = new float[seqLen * e];
        int[][] choices = new int[seqLen][];
        float[][] weights = new float[seqLen][];
        double[] z = new double[e];
        for (int t = 0; t < seqLen; t++) {
            for (int i = 0; i < e; i++) {
                z[i] = logits[t * e + i];
            }
            Gating.store(Gating.softmax(z), probs, t * e);
            int[] selected = Gating.topK(z, topK);
            double[] kept = new double[selected.length];
            for (int r = 0; r < selected.length; r++) {
                kept[r] = z[selected[r]];
            }
            float[] w = new float[selected.length];
            Gating.store(Gating.softmax(kept), w, 0);
            choices[t] = selected;
            weights[t] = w;
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, false);
    }
}
