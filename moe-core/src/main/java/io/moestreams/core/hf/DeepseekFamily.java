package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.routing.DeepseekV2Router;
import io.moestreams.core.routing.DeepseekV3Router;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.SharedExpertRouter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * deepseek_v3 and deepseek_v2 (DeepseekV3MoE / DeepseekV2Moe): layers {@code >= first_k_dense_replace} are sparse;
 * routed experts as qwen2_moe; ONE shared MLP {@code mlp.shared_experts.*} of width moe_intermediate_size ×
 * n_shared_experts added with weight 1 (exposed as shared expert s0; none when n_shared_experts is 0). Routing:
 * {@link DeepseekV3Router} (sigmoid, e_score_correction_bias, groups) or {@link DeepseekV2Router} (softmax, greedy
 * or group-limited). F8_E4M3 expert weights with block scales (the released V3) are dequantized at load.
 */
final class DeepseekFamily implements HfFamily {

    private final boolean v3;

    private DeepseekFamily(boolean v3) {
        this.v3 = v3;
    }

    static DeepseekFamily v3() {
        return new DeepseekFamily(true);
    }

    static DeepseekFamily v2() {
        return new DeepseekFamily(false);
    }

    @Override
    public String modelType() {
        return v3 ? "deepseek_v3" : "deepseek_v2";
    }

    private int firstDense(HfConfig c) {
        return c.intOr(v3 ? 3 : 0, "first_k_dense_replace");
    }

    @Override
    public List<HfLayer> layers(HfConfig c) {
        int first = firstDense(c);
        return HfBlocks.decoderLayers(c, l -> l >= first);
    }

    @Override
    public HfMoeBlock block(HfConfig c, TensorStore store, HfLayer layer) {
        String[] expertKeys = v3
                ? new String[] {"n_routed_experts", "num_local_experts"}
                : new String[] {"n_routed_experts", "num_experts"};
        int e = HfBlocks.positive(c, c.requireInt(expertKeys), expertKeys);
        int k = v3 ? HfBlocks.topK(c, e, 8, "num_experts_per_tok") : HfBlocks.topK(c, e, -1, "num_experts_per_tok");
        int d = HfBlocks.hiddenSize(c);
        int f = c.intOr(v3 ? 2048 : 1407, "moe_intermediate_size");
        int nShared = c.intOr(v3 ? 1 : 2, "n_shared_experts");
        double scaling = c.doubleOr(v3 ? 2.5 : 1.0, "routed_scaling_factor");
        Activation act = HfBlocks.activation(c, "hidden_act", "silu");
        String prefix = HfBlocks.layerPrefix(layer) + "mlp.";
        ExpertLayout experts = HfBlocks.qwenStyleExperts(store, prefix, e, d, f, act);
        boolean sharedBias = !v3 && c.boolOr(false, "mlp_bias");
        ExpertLayout shared = nShared > 0
                ? new GatedLayout(
                        1,
                        d,
                        f * nShared,
                        act,
                        s -> prefix + "shared_experts.",
                        "gate_proj",
                        "up_proj",
                        "down_proj",
                        sharedBias)
                : null;
        MoeConfig config = HfBlocks.config(
                prefix,
                d,
                f,
                e,
                HfBlocks.router(v3 ? RouterType.DEEPSEEK_V3 : RouterType.DEEPSEEK_V2, k, false),
                act,
                null,
                shared == null ? 0 : 1);
        String gate = prefix + "gate.weight";
        String bias = prefix + "gate.e_score_correction_bias";
        Map<String, String> details = new LinkedHashMap<>();
        RouterLoader routed;
        List<String> routerTensors = new ArrayList<>(List.of(gate));
        if (v3) {
            int nGroup = c.intOr(8, "n_group");
            int topkGroup = c.intOr(4, "topk_group");
            boolean norm = c.boolOr(true, "norm_topk_prob");
            routerTensors.add(bias);
            details.put(
                    "routing",
                    "sigmoid scores + e_score_correction_bias for selection, n_group=" + nGroup
                            + ", topk_group=" + topkGroup + ", top-" + k + ", norm_topk_prob=" + norm
                            + ", routed_scaling_factor=" + scaling);
            routed = r -> new DeepseekV3Router(
                    config, gate, r.matrix(gate, e, d), r.vector(bias, e), nGroup, topkGroup, norm, scaling);
        } else {
            String method = c.string("greedy", "topk_method");
            DeepseekV2Router.Method m = switch (method) {
                case "greedy" -> DeepseekV2Router.Method.GREEDY;
                case "group_limited_greedy" -> DeepseekV2Router.Method.GROUP_LIMITED_GREEDY;
                default ->
                    throw new ModelConfigException(
                            HfConfig.FILE_NAME + " topk_method",
                            "greedy or group_limited_greedy (the methods of transformers' DeepseekV2TopkRouter)",
                            method);
            };
            int nGroup = m == DeepseekV2Router.Method.GREEDY ? c.intOr(1, "n_group") : c.requireInt("n_group");
            int topkGroup = m == DeepseekV2Router.Method.GREEDY ? c.intOr(1, "topk_group") : c.requireInt("topk_group");
            details.put(
                    "routing",
                    "softmax, " + method.toLowerCase(Locale.ROOT)
                            + (m == DeepseekV2Router.Method.GREEDY
                                    ? ""
                                    : " (n_group=" + nGroup + ", topk_group=" + topkGroup + ")")
                            + ", top-" + k + ", routed_scaling_factor=" + scaling + ", never renormalised");
            routed = r -> new DeepseekV2Router(config, gate, r.matrix(gate, e, d), m, nGroup, topkGroup, scaling);
        }
        if (shared != null) {
            details.put(
                    "shared expert",
                    "s0 = shared_experts, width " + f * nShared + " (moe_intermediate_size x " + nShared
                            + "), weight 1");
        }
        RouterLoader router = r -> {
            Router base = routed.load(r);
            return shared == null ? base : SharedExpertRouter.unitWeight(base, 1);
        };
        return new HfMoeBlock(
                modelType(), layer.name(), prefix, config, routerTensors, router, experts, shared, details);
    }
}
