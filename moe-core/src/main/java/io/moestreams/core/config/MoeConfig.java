package io.moestreams.core.config;

import java.util.OptionalDouble;

/**
 * The validated contents of {@code moe.json} (DESIGN.md, "Model format").
 *
 * @param format           tensor naming scheme
 * @param tensorPrefix     prefix of every tensor name, may be empty
 * @param hiddenSize       d
 * @param intermediateSize f
 * @param numExperts       E
 * @param router           gating configuration
 * @param activation       expert activation
 * @param capacityFactor   null or &lt;= 0 means no capacity limit
 * @param overflow         overflow policy (only meaningful with a capacity factor)
 * @param seed             model seed for noisy / random routing (optional key {@code seed}, default 0)
 */
public record MoeConfig(
        ModelFormat format,
        String tensorPrefix,
        int hiddenSize,
        int intermediateSize,
        int numExperts,
        RouterConfig router,
        Activation activation,
        Double capacityFactor,
        Overflow overflow,
        long seed) {

    public MoeConfig {
        if (format == null) {
            throw new ModelConfigException("format", "one of mixtral, switch", "nothing");
        }
        tensorPrefix = tensorPrefix == null ? "" : tensorPrefix;
        if (hiddenSize < 1) {
            throw new ModelConfigException("hidden_size", "an integer >= 1", Integer.toString(hiddenSize));
        }
        if (intermediateSize < 1) {
            throw new ModelConfigException("intermediate_size", "an integer >= 1", Integer.toString(intermediateSize));
        }
        if (numExperts < 1) {
            throw new ModelConfigException("num_experts", "an integer >= 1", Integer.toString(numExperts));
        }
        if (router == null) {
            throw new ModelConfigException("router", "a router object", "nothing");
        }
        if (router.type() != RouterType.EXPERT_CHOICE && router.topK() > numExperts) {
            throw new ModelConfigException(
                    "router.top_k", "at most num_experts (" + numExperts + ")", Integer.toString(router.topK()));
        }
        if (activation == null) {
            throw new ModelConfigException("activation", "one of silu, relu, gelu", "nothing");
        }
        if (capacityFactor != null && (capacityFactor.isNaN() || capacityFactor.isInfinite())) {
            throw new ModelConfigException("capacity_factor", "null or a finite number", capacityFactor.toString());
        }
        overflow = overflow == null ? Overflow.NONE : overflow;
    }

    /** The capacity factor if capacity is limited, empty for "no limit" (null or &lt;= 0). */
    public OptionalDouble capacityLimit() {
        return capacityFactor == null || capacityFactor <= 0
                ? OptionalDouble.empty()
                : OptionalDouble.of(capacityFactor);
    }
}
