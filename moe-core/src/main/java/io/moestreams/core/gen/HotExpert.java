package io.moestreams.core.gen;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.RouterOutput;
import io.moestreams.core.routing.Routers;
import java.util.SplittableRandom;

/**
 * A router biased towards one expert, for skewed-load experiments: row {@code expert} of the gate weight is scaled by
 * a factor chosen so that the model's own router sends about {@code share} of N(0, 1) tokens (the tokens
 * {@code generate-requests} writes) to that expert among its top-k choices. Scaling a row widens that expert's logit
 * distribution: it wins whenever its logit is positive and large, so the share approaches 1/2 as the factor grows and
 * shares of 1/2 or more cannot be reached this way.
 *
 * @param expert the favoured expert
 * @param share  the wanted fraction of tokens routed to it, in (0, 0.5)
 */
public record HotExpert(int expert, double share) {

    /** Tokens the calibration routes. */
    static final int SAMPLE_TOKENS = 4096;

    public HotExpert {
        if (expert < 0) {
            throw new IllegalArgumentException("hot expert: expected an expert index >= 0, found " + expert);
        }
        if (!(share > 0 && share < 0.5)) {
            throw new IllegalArgumentException("hot expert share: expected 0 < share < 0.5 (scaling a gate row cannot"
                    + " route half of the tokens or more to one expert), found " + share);
        }
    }

    /**
     * Scales row {@code expert} of {@code gate} [E, d] in place so that the routed share is about {@code share}.
     *
     * @return the factor applied
     */
    public double apply(MoeConfig config, float[] gate) {
        if (expert >= config.numExperts()) {
            throw new IllegalArgumentException(
                    "hot expert " + expert + " does not exist: the model has " + config.numExperts() + " experts");
        }
        int d = config.hiddenSize();
        float[] tokens = new float[SAMPLE_TOKENS * d];
        SplittableRandom random = new SplittableRandom(config.seed() ^ 0x5EED);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (float) random.nextGaussian();
        }
        double base = shareAt(config, gate, tokens, 1.0);
        if (base >= share) {
            return 1.0; // already hot enough
        }
        double lo = 1.0;
        double hi = 2.0;
        while (shareAt(config, gate, tokens, hi) < share) {
            lo = hi;
            hi *= 2;
            if (hi > 1e6) {
                throw new IllegalArgumentException("hot expert share " + share + " is out of reach for this model"
                        + " (a factor of 1e6 routes " + shareAt(config, gate, tokens, hi) + ")");
            }
        }
        for (int i = 0; i < 30; i++) {
            double mid = Math.sqrt(lo * hi);
            if (shareAt(config, gate, tokens, mid) < share) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        scaleRow(gate, d, hi);
        return hi;
    }

    /** The fraction of the sample tokens routed to the expert with its gate row scaled by {@code factor}. */
    double shareAt(MoeConfig config, float[] gate, float[] tokens, double factor) {
        int d = config.hiddenSize();
        float[] g = gate.clone();
        scaleRow(g, d, factor);
        Router router = Routers.create(config, g, null);
        RouterOutput out = router.route("calibration", tokens, SAMPLE_TOKENS);
        int hits = 0;
        for (int t = 0; t < SAMPLE_TOKENS; t++) {
            for (int e : out.choices()[t]) {
                if (e == expert) {
                    hits++;
                    break;
                }
            }
        }
        return (double) hits / SAMPLE_TOKENS;
    }

    private void scaleRow(float[] gate, int d, double factor) {
        for (int i = expert * d; i < (expert + 1) * d; i++) {
            gate[i] = (float) (gate[i] * factor);
        }
    }
}
