package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;

/**
 * DeepSeek-V2 gating (DeepseekV2TopkRouter, transformers 5.x), per token in double: p = softmax(z);
 * {@code greedy}: the k largest p; {@code group_limited_greedy}: the E experts form {@code nGroup} contiguous groups
 * scored by their largest p, the {@code topkGroup} best groups are kept (ties to the lower group) and the others'
 * p set to 0, then the k largest of that (rank order = descending, ties to the lower index). Weight = p of the
 * chosen × {@code routedScalingFactor}; transformers never renormalises here ({@code norm_topk_prob} is ignored).
 * {@link RouterOutput#probs()} holds p.
 */
public final class DeepseekV2Router extends GateRouter {

    /** {@code topk_method}. */
    public enum Method {
        GREEDY,
        GROUP_LIMITED_GREEDY
    }

    private final int topK;
    private final Method method;
    private final int nGroup;
    private final int topkGroup;
    private final double routedScalingFactor;

    public DeepseekV2Router(
            MoeConfig config,
            String gateName,
            float[] gateWeight,
            Method method,
            int nGroup,
            int topkGroup,
            double routedScalingFactor) {
        super(config, gateName, gateWeight, null);
        if (config.router().type() != RouterType.DEEPSEEK_V2) {
            throw new IllegalArgumentException("router.type: expected deepseek_v2, found "
                    + config.router().type().json());
        }
        this.topK = config.router().topK();
        this.method = method;
        if (method == Method.GROUP_LIMITED_GREEDY) {
            DeepseekV3Router.checkGroups(numExperts, nGroup, topkGroup, 1, 1);
        }
        this.nGroup = nGroup;
        this.topkGroup = topkGroup;
        this.routedScalingFactor = routedScalingFactor;
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
            double[] scores = p;
            if (method == Method.GROUP_LIMITED_GREEDY) {
                int per = e / nGroup;
                double[] groupScore = new double[nGroup];
                for (int g = 0; g < nGroup; g++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int i = g * per; i < (g + 1) * per; i++) {
                        max = Math.max(max, p[i]);
                    }
                    groupScore[g] = max;
                }
                boolean[] kept = new boolean[nGroup];
                for (int g : Gating.topK(groupScore, topkGroup)) {
                    kept[g] = true;
                }
                scores = new double[e];
                for (int i = 0; i < e; i++) {
                    scores[i] = kept[i / per] ? p[i] : 0.0;
                }
            }
            int[] selected = Gating.topK(scores, topK);
            float[] w = new float[selected.length];
            for (int r = 0; r < selected.length; r++) {
                w[r] = (float) (scores[selected[r]] * routedScalingFactor);
            }
            choices[t] = selected;
            weights[t] = w;
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, false);
    }
}
