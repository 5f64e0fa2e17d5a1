package io.moestreams.core.routing;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;

/**
 * Noisy top-k gating (Shazeer et al. 2017): H = z + N(0,1)·(softplus(W_noise·x) + 0.01) when noise is on (else
 * H = z), keep the k largest H, weights = softmax over the kept H. The noise of token t is drawn from
 * {@link SeededRandom#forToken}(model seed, request id, t), one {@code nextGaussian()} per expert in ascending
 * expert order. {@link RouterOutput#probs()} holds softmax(H) over all experts.
 */
final class NoisyTopKRouter extends GateRouter {

    /** Minimum noise standard deviation added to softplus(W_noise·x). */
    static final double NOISE_EPSILON = 0.01;

    private final int topK;
    private final boolean noise;
    private final float[] noiseWeight;

    NoisyTopKRouter(MoeConfig config, float[] gateWeight, float[] noiseWeight) {
        super(config, gateWeight);
        this.topK = config.router().topK();
        this.noise = config.router().noise();
        if (noise) {
            String name = tensorName(config, "noise.weight");
            if (noiseWeight == null) {
                throw new ModelConfigException(
                        name,
                        "a tensor [" + numExperts + "," + hiddenSize + "] because router.noise is true",
                        "no such tensor");
            }
            this.noiseWeight =
                    checkShape(name, noiseWeight, numExperts, hiddenSize).clone();
        } else {
            this.noiseWeight = null;
        }
    }

    @Override
    RouterOutput route(String requestId, float[] hidden, int seqLen, float[] logits) {
        if (noise) {
            requireRequestId(requestId);
        }
        int e = numExperts;
        int d = hiddenSize;
        float[] probs = new float[seqLen * e];
        int[][] choices = new int[seqLen][];
        float[][] weights = new float[seqLen][];
        double[] h = new double[e];
        for (int t = 0; t < seqLen; t++) {
            if (noise) {
                SeededRandom rng = SeededRandom.forToken(config.seed(), requestId, t);
                for (int i = 0; i < e; i++) {
                    double stddev = Gating.softplus(Gating.dot(noiseWeight, i * d, hidden, t * d, d)) + NOISE_EPSILON;
                    h[i] = logits[t * e + i] + rng.nextGaussian() * stddev;
                }
            } else {
                for (int i = 0; i < e; i++) {
                    h[i] = logits[t * e + i];
                }
            }
            Gating.store(Gating.softmax(h), probs, t * e);
            int[] selected = Gating.topK(h, topK);
            double[] kept = new double[selected.length];
            for (int r = 0; r < selected.length; r++) {
                kept[r] = h[selected[r]];
            }
            double[] g = Gating.softmax(kept);
            float[] w = new float[selected.length];
            Gating.store(g, w, 0);
            choices[t] = selected;
            weights[t] = w;
        }
        return new RouterOutput(seqLen, e, logits, probs, choices, weights, false);
    }
}
