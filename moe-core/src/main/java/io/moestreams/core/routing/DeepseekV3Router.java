package io.moestreams.core.routing;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;

/**
 * DeepSeek-V3 gating (DeepseekV3TopkRouter, transformers 5.x), per token in double: s = sigmoid(z),
 * c = s + e_score_correction_bias; the E experts form {@code nGroup} contiguous groups, a group scores the sum of
 * its two largest c, the {@code topkGroup} best groups are kept (ties to the lower group); the k largest c among
 * the kept experts are chosen (rank order = descending c, ties to the lower index); weight = s of the chosen (the
 * bias only selects), divided by (Σ + 1e-20) iff {@code normTopkProb}, times {@code routedScalingFactor}.
 * {@link RouterOutput#probs()} holds s.
 */
public final class DeepseekV3Router extends GateRouter {

    private final float[] correctionBias;
    private final int topK;
    private final int nGroup;
    private final int topkGroup;
    private final boolean normTopkProb;
    private final double routedScalingFactor;

    /**
     * @param gateName       the weight's tensor name, for errors
     * @param gateWeight     [E, d]
     * @param correctionBias {@code e_score_correction_bias} [E]
     */
    public DeepseekV3Router(
            MoeConfig config,
            String gateName,
            float[] gateWeight,
            float[] correctionBias,
            int nGroup,
            int topkGroup,
            boolean normTopkProb,
            double routedScalingFactor) {
        super(config, gateName, gateWeight, null);
        if (config.router().type() != RouterType.DEEPSEEK_V3) {
            throw new IllegalArgumentException("router.type: expected deepseek_v3, found "
                    + config.router().type().json());
        }
        this.correctionBias = checkShape(
                        gateName.replace("weight", "e_score_correction_bias"), correctionBias, 1, numExperts)
                .clone();
        this.topK = config.router().topK();
        checkGroups(numExperts, nGroup, topkGroup, topK, 2);
        this.nGroup = nGroup;
        this.topkGroup = topkGroup;
        this.normTopkProb = normTopkProb;
        this.routedScalingFactor = routedScalingFactor;
    }

    /** Group sizes must divide E, hold at least {@code minPerGroup} experts and leave room for k choices. */
    static void checkGroups(int numExperts, int nGroup, int topkGroup, int topK, int minPerGroup) {
        if (nGroup < 1 || numExperts % nGroup != 0) {
            throw new ModelConfigException(
                    "n_group", "a divisor of the number of routed experts " + numExperts, Integer.toString(nGroup));
        }
        if (numExperts / nGroup < minPerGroup) {
            throw new ModelConfigException(
                    "n_group",
                    "groups of at least " + minPerGroup + " experts (" + numExperts + " experts)",
                    Integer.toString(nGroup));
        }
        if (topkGroup < 1 || topkGroup > nGroup) {
            throw new ModelConfigException(
                    "topk_group", "between 1 and n_group = " + nGroup, Integer.toString(topkGroup));
        }
        if (topK > topkGroup * (numExperts / nGroup)) {
            throw new ModelConfigException(
                    "num_experts_per_tok",
                    "at most the experts of topk_group groups (" + topkGroup * (numExperts / nGroup) + ")",
                    Integer.toString(topK));
        }
    }

    @Override
    RouterOutput route(String requestId, float[] hidden, int seqLen, float[] logits) {
        int e = numExperts;
        int per = e / nGroup;
        float[] probs = new float[seqLen * e];
        int[][] choices = new int[seqLen][];
        float[][] weights = new float[seqLen][];
        double[] s = new double[e];
        double[] c = new double[e];
        double[] groupScore = new double[nGroup];
        for (int t = 0; t < seqLen; t++) {
            for (int i = 0; i < e; i++) {
                s[i] = Gating.sigmoid(logits[t * e + i]);
                c[i] = s[i] + correctionBias[i];
            }
            Gating.store(s, probs, t * e);
            for (int g = 0; g < nGroup; g++) {
                double[] members = new double[per];
                System.arraycopy(c, g * per, members, 0, per);
                int[] top2 = Gating.topK(members, 2);
                groupScore[g] = members[top2[0]] + members[top2[1]];
            }
            boolean[] keptGroup = new boolean[nGroup];
            for (int g : Gating.topK(groupScore, topkGroup)) {
                keptGroup[g] = true;
            }
            double[] masked = new double[e];
            for (int i = 0; i < e; i++) {
                masked[i] = keptGroup[i / per] ? c[i] : Double.NEGATIVE_INFINITY;
            }
            int[] selected = Gating.topK(masked, topK);
            double sum = 0.0;
            for (int i : selected) {
                sum += s[i];
            }
            float[] w = new float[selected.length];
            for (int r = 0; r < selected.length; r++) {
                double v = normTopkProb ? s[selected[r]] / (sum + 1e-20) : s[selected[r]];
                w[r] = (float) (v * routedScalingFactor);
            }
            choices[t] = selected;
            weights[t] = w;
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, false);
    }
}
