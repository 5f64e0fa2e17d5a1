package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the router of a model (docs/architecture.md, "Routing"). All routers compute the logits z = W_g·x with double
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
            case SOFTMAX_OVER_TOPK, DEEPSEEK_V3, DEEPSEEK_V2 ->
                throw new IllegalArgumentException(
                        "router.type " + type.json() + " belongs to a Hugging Face family: its router is built by the"
                                + " family from the checkpoint (see io.moestreams.core.hf)");
        };
        LOGGER.debug(
                "Router {} ready: {} experts, hidden size {}, top_k {}",
                type.json(),
                config.numExperts(),
                config.hiddenSize(),
                config.router().topK());
        return router;
    }

    /**
     * Mixtral / qwen2_moe / qwen3_moe / olmoe gating ({@code topk_softmax}): softmax over all E, the k largest,
     * renormalised iff {@code config.router().normalize()}.
     *
     * @param gateName the weight's tensor name, for errors
     */
    public static Router topKSoftmax(MoeConfig config, String gateName, float[] gateWeight) {
        requireType(config, RouterType.TOPK_SOFTMAX);
        return new TopKSoftmaxRouter(config, gateName, gateWeight);
    }

    /** switch_transformers gating: top-1 of softmax(W·x + b), weight p_max (bias null without router_bias). */
    public static Router switchTop1(MoeConfig config, String gateName, float[] gateWeight, float[] gateBias) {
        requireType(config, RouterType.SWITCH);
        return new SwitchRouter(config, gateName, gateWeight, gateBias);
    }

    private static void requireType(MoeConfig config, RouterType type) {
        if (config.router().type() != type) {
            throw new IllegalArgumentException("router.type: expected " + type.json() + ", found "
                    + config.router().type().json());
        }
    }
}
