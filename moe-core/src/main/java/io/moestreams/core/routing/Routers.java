package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the router of a model (DESIGN.md, "Routing"). All routers compute the logits z = W_g·x with double
 * accumulation, stored as float, and p = softmax(z) stably in double, stored as float; selections and weights are
 * computed from the double values. Ties always break to the lower expert index (and, for expert choice, to the
 * lower position). Routers are immutable and thread-safe.
 */
public final class Routers {

    private static final Logger LOGGER = LoggerFactory.getLogger(Routers.class);

    private Routers() {}

    /**
     * @param config      the model configuration (router type, k, flags, seed)
     * @param gateWeight  {@code gate.weight} / {@code router.classifier.weight}, row-major [E, d] (PyTorch [out, in])
     * @param noiseWeight {@code noise.weight} [E, d] for {@code noisy_topk} with noise on, otherwise may be null
     * @return a router for {@code config.router().type()}
     * @throws io.moestreams.core.config.ModelConfigException naming the tensor when a weight is missing or has the
     *                                                        wrong size
     */
    public static Router create(MoeConfig config, float[] gateWeight, float[] noiseWeight) {
        Objects.requireNonNull(config, "config");
        RouterType type = config.router().type();
        Router router = switch (type) {
            case TOPK_SOFTMAX -> new TopKSoftmaxRouter(config, gateWeight);
            case SWITCH -> new SwitchRouter(config, gateWeight);
            case NOISY_TOPK -> new NoisyTopKRouter(config, gateWeight, noiseWeight);
            case GSHARD_TOP2 -> new GShardTop2Router(config, gateWeight);
            case EXPERT_CHOICE -> new ExpertChoiceRouter(config, gateWeight);
        };
        LOGGER.debug(
                "Router {} ready: {} experts, hidden size {}, top_k {}",
                type.json(),
                config.numExperts(),
                config.hiddenSize(),
                config.router().topK());
        return router;
    }
}
