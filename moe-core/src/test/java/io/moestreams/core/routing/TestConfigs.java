package io.moestreams.core.routing;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;

/** Builds {@link MoeConfig}s for routing tests. */
public final class TestConfigs {

    private TestConfigs() {}

    /** A config with the routing fields that matter here; everything else is a valid filler. */
    public static MoeConfig config(
            RouterType type,
            int topK,
            boolean normalize,
            boolean noise,
            boolean randomRouting,
            int numExperts,
            int hiddenSize,
            Double capacityFactor,
            Overflow overflow,
            long seed) {
        return new MoeConfig(
                type == RouterType.SWITCH ? ModelFormat.SWITCH : ModelFormat.MIXTRAL,
                "",
                hiddenSize,
                8,
                numExperts,
                new RouterConfig(type, topK, normalize, noise, randomRouting),
                Activation.SILU,
                capacityFactor,
                overflow,
                seed);
    }

    /** A plain router config without noise or random routing. */
    public static MoeConfig config(
            RouterType type, int topK, int numExperts, int hiddenSize, Double capacityFactor, Overflow overflow) {
        return config(type, topK, true, false, false, numExperts, hiddenSize, capacityFactor, overflow, 0L);
    }
}
