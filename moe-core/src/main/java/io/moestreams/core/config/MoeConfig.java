package io.moestreams.core.config;

import java.util.OptionalDouble;

/**
 * The validated contents of {@code moe.json} (docs/architecture.md, "Model formats").
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
 * @param expertCapacity   fixed slots per expert per sequence (switch_transformers' {@code expert_capacity}), or
 *                         null; when set it replaces the capacity-factor formula and overflowing choices are
 *                         handled by {@code overflow}
 * @param numSharedExperts experts every token visits besides its routed ones (qwen2_moe, deepseek); 0 for none.
 *                         They are not routed: their weights per token come with the router output
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
        long seed,
        Integer expertCapacity,
        int numSharedExperts) {

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
            throw new ModelConfigException("activation", "one of silu, relu, gelu, gelu_tanh", "nothing");
        }
        if (capacityFactor != null && (capacityFactor.isNaN() || capacityFactor.isInfinite())) {
            throw new ModelConfigException("capacity_factor", "null or a finite number", capacityFactor.toString());
        }
        overflow = overflow == null ? Overflow.NONE : overflow;
        if (expertCapacity != null && expertCapacity < 0) {
            throw new ModelConfigException("expert_capacity", "null or an integer >= 0", expertCapacity.toString());
        }
        if (numSharedExperts < 0) {
            throw new ModelConfigException("shared experts", "an integer >= 0", Integer.toString(numSharedExperts));
        }
    }

    /** A {@code moe.json} configuration: no fixed expert capacity, no shared experts. */
    public MoeConfig(
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
        this(
                format,
                tensorPrefix,
                hiddenSize,
                intermediateSize,
                numExperts,
                router,
                activation,
                capacityFactor,
                overflow,
                seed,
                null,
                0);
    }

    /** True if the experts have a fixed capacity per sequence ({@link #expertCapacity()}). */
    public boolean hasExpertCapacity() {
        return expertCapacity != null;
    }

    /** The capacity factor if capacity is limited, empty for "no limit" (null or &lt;= 0). */
    public OptionalDouble capacityLimit() {
        return capacityFactor == null || capacityFactor <= 0
                ? OptionalDouble.empty()
                : OptionalDouble.of(capacityFactor);
    }
}
