package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.Routers;
import io.moestreams.core.routing.SharedExpertRouter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The qwen2_moe-pattern families with softmax top-k routing: {@code qwen2_moe} (plus a shared expert scaled by
 * sigmoid(shared_expert_gate·x)), {@code qwen3_moe} and {@code olmoe}. Softmax over all E in fp32, top-k,
 * renormalised iff {@code norm_topk_prob}. Sparse layers: qwen2/qwen3 use {@code decoder_sparse_step} and
 * {@code mlp_only_layers}; olmoe is sparse everywhere.
 */
final class QwenMoeFamily implements HfFamily {

    private final String modelType;
    private final boolean sharedExpert;
    private final boolean sparseStep;
    private final boolean olmoeWidth;
    private final String[] expertKeys;
    private final int defaultTopK;
    private final int defaultWidth;

    private QwenMoeFamily(
            String modelType,
            boolean sharedExpert,
            boolean sparseStep,
            boolean olmoeWidth,
            String[] expertKeys,
            int defaultTopK,
            int defaultWidth) {
        this.modelType = modelType;
        this.sharedExpert = sharedExpert;
        this.sparseStep = sparseStep;
        this.olmoeWidth = olmoeWidth;
        this.expertKeys = expertKeys;
        this.defaultTopK = defaultTopK;
        this.defaultWidth = defaultWidth;
    }

    /** qwen2_moe: {@code num_experts}, moe_intermediate_size (1408), k = 4, shared expert. */
    static QwenMoeFamily qwen2() {
        return new QwenMoeFamily(
                "qwen2_moe", true, true, false, new String[] {"num_experts", "num_local_experts"}, 4, 1408);
    }

    /** qwen3_moe: transformers 5 writes {@code num_local_experts}, 4.x {@code num_experts}; k = 8, f = 768. */
    static QwenMoeFamily qwen3() {
        return new QwenMoeFamily(
                "qwen3_moe", false, true, false, new String[] {"num_local_experts", "num_experts"}, 8, 768);
    }

    /** olmoe: {@code num_experts}, expert width = intermediate_size, k = 8, every layer sparse. */
    static QwenMoeFamily olmoe() {
        return new QwenMoeFamily(
                "olmoe", false, false, true, new String[] {"num_experts", "num_local_experts"}, 8, 2048);
    }

    @Override
    public String modelType() {
        return modelType;
    }

    @Override
    public List<HfLayer> layers(HfConfig c) {
        if (!sparseStep) {
            return HfBlocks.decoderLayers(c, l -> true);
        }
        int e = c.intOr(0, expertKeys);
        int step = c.intOr(1, "decoder_sparse_step");
        List<Integer> mlpOnly = new ArrayList<>(c.intList("mlp_only_layers"));
        // Qwen2MoeDecoderLayer: (layer_idx not in mlp_only_layers) and num_experts > 0 and (layer_idx+1) % step == 0
        return HfBlocks.decoderLayers(c, l -> !mlpOnly.contains(l) && e > 0 && step > 0 && (l + 1) % step == 0);
    }

    @Override
    public HfMoeBlock block(HfConfig c, TensorStore store, HfLayer layer) {
        int e = HfBlocks.positive(c, c.requireInt(expertKeys), expertKeys);
        int k = HfBlocks.topK(c, e, defaultTopK, "num_experts_per_tok");
        int d = HfBlocks.hiddenSize(c);
        int f = olmoeWidth ? c.requireInt("intermediate_size") : c.intOr(defaultWidth, "moe_intermediate_size");
        boolean norm = c.boolOr(false, "norm_topk_prob");
        Activation act = HfBlocks.activation(c, "hidden_act", "silu");
        String prefix = HfBlocks.layerPrefix(layer) + "mlp.";
        ExpertLayout experts = HfBlocks.qwenStyleExperts(store, prefix, e, d, f, act);
        int sharedWidth = sharedExpert ? c.intOr(5632, "shared_expert_intermediate_size") : 0;
        ExpertLayout shared = sharedWidth > 0
                ? new GatedLayout(
                        1,
                        d,
                        sharedWidth,
                        act,
                        s -> prefix + "shared_expert.",
                        "gate_proj",
                        "up_proj",
                        "down_proj",
                        false)
                : null;
        MoeConfig config = HfBlocks.config(
                prefix, d, f, e, HfBlocks.router(RouterType.TOPK_SOFTMAX, k, norm), act, null, shared == null ? 0 : 1);
        String gate = prefix + "gate.weight";
        String sharedGate = prefix + "shared_expert_gate.weight";
        List<String> routerTensors = shared == null ? List.of(gate) : List.of(gate, sharedGate);
        Map<String, String> details = new LinkedHashMap<>();
        details.put(
                "routing",
                "softmax over all experts, top-" + k + (norm ? ", renormalised" : ", not renormalised")
                        + " (norm_topk_prob=" + norm + ")");
        if (shared != null) {
            details.put("shared expert", "s0, width " + sharedWidth + ", weight sigmoid(shared_expert_gate·x)");
        }
        RouterLoader router = r -> {
            Router routed = Routers.topKSoftmax(config, gate, r.matrix(gate, e, d));
            return shared == null
                    ? routed
                    : SharedExpertRouter.sigmoidGated(routed, sharedGate, r.matrix(sharedGate, 1, d));
        };
        return new HfMoeBlock(modelType, layer.name(), prefix, config, routerTensors, router, experts, shared, details);
    }
}
