package io.moestreams.core.hf;

import io.moestreams.core.config.MoeConfig;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The MoE block of one sparse layer of a Hugging Face checkpoint, as its family describes it: the pipeline-facing
 * {@link MoeConfig}, the router tensors and how to build the router from them, where the routed experts and the
 * shared experts (if any) are stored.
 *
 * @param modelType     the family
 * @param layer         the layer name ({@code --layer})
 * @param prefix        the block's tensor prefix, e.g. {@code model.layers.3.mlp.}
 * @param config        hidden size, routed experts, top-k, router type, capacity, shared-expert count
 * @param routerTensors the tensors the router reads (with the bias / shared gate when present)
 * @param router        builds the router (with the shared-expert weights) from those tensors
 * @param experts       the routed experts 0..E-1
 * @param shared        the shared experts s0.. (null when the block has none)
 * @param details       family-specific settings for {@code moe inspect} (e.g. norm_topk_prob), in display order
 */
public record HfMoeBlock(
        String modelType,
        String layer,
        String prefix,
        MoeConfig config,
        List<String> routerTensors,
        RouterLoader router,
        ExpertLayout experts,
        ExpertLayout shared,
        Map<String, String> details) {

    public HfMoeBlock {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(router, "router");
        Objects.requireNonNull(experts, "experts");
        routerTensors = List.copyOf(routerTensors);
        details = Map.copyOf(details);
        if ((shared == null ? 0 : shared.count()) != config.numSharedExperts()) {
            throw new IllegalArgumentException("shared experts: config says " + config.numSharedExperts()
                    + ", layout has " + (shared == null ? 0 : shared.count()));
        }
    }

    /** Shared experts every token visits (0 when none). */
    public int numShared() {
        return shared == null ? 0 : shared.count();
    }

    @Override
    public String toString() {
        return "HfMoeBlock[" + modelType + " layer " + layer + ", " + prefix + ", experts=" + config.numExperts()
                + ", shared=" + numShared() + "]";
    }
}
