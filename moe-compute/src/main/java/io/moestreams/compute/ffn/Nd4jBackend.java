package io.moestreams.compute.ffn;

import io.moestreams.core.ffn.ClampedSwigluWeights;
import io.moestreams.core.ffn.DenseMlpWeights;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.FfnBackend;
import io.moestreams.core.ffn.GatedMlpWeights;

/**
 * The ND4J {@link FfnBackend}: one named FFN class per weight variant. Stateless; also registered as a service
 * for {@link io.moestreams.core.ffn.FfnBackends#discover()}.
 */
public final class Nd4jBackend implements FfnBackend {

    /** The backend (stateless, shared). */
    public static final Nd4jBackend INSTANCE = new Nd4jBackend();

    /** For the service loader; prefer {@link #INSTANCE}. */
    public Nd4jBackend() {
        // stateless
    }

    @Override
    public ExpertFfn gated(GatedMlpWeights weights) {
        return new GatedExpertFfn(weights);
    }

    @Override
    public ExpertFfn denseActDense(DenseMlpWeights weights) {
        return new DenseActDenseFfn(weights);
    }

    @Override
    public ExpertFfn clampedSwiglu(ClampedSwigluWeights weights) {
        return new ClampedSwigluFfn(weights);
    }

    @Override
    public String toString() {
        return "Nd4jBackend";
    }
}
