package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.routing.SoftmaxOverTopKRouter;
import java.util.List;
import java.util.Map;

/**
 * granitemoe (GraniteMoeMoE under {@code block_sparse_moe.}): every layer sparse; top-k of the logits, softmax
 * over those k; experts stacked in {@code input_linear.weight [E,2f,d]} (gate half first) and
 * {@code output_linear.weight [E,d,f]} (transformers 5 renames: {@code router.weight},
 * {@code experts.gate_up_proj}, {@code experts.down_proj}). The block output excludes residual_multiplier, which
 * the decoder layer applies.
 */
final class GraniteMoeFamily implements HfFamily {

    @Override
    public String modelType() {
        return "granitemoe";
    }

    @Override
    public List<HfLayer> layers(HfConfig c) {
        return HfBlocks.decoderLayers(c, l -> true);
    }

    @Override
    public HfMoeBlock block(HfConfig c, TensorStore store, HfLayer layer) {
        int e = HfBlocks.positive(c, c.requireInt("num_local_experts", "num_experts"), "num_local_experts");
        int k = HfBlocks.topK(c, e, 2, "num_experts_per_tok");
        int d = HfBlocks.hiddenSize(c);
        int f = c.requireInt("intermediate_size");
        Activation act = HfBlocks.activation(c, "hidden_act", "silu");
        String prefix = HfBlocks.layerPrefix(layer) + "block_sparse_moe.";
        String gate = store.contains(prefix + "router.layer.weight") || !store.contains(prefix + "router.weight")
                ? prefix + "router.layer.weight"
                : prefix + "router.weight";
        ExpertLayout experts;
        if (store.contains(prefix + "input_linear.weight")) {
            experts =
                    new FusedGatedLayout(e, d, f, act, prefix + "input_linear.weight", prefix + "output_linear.weight");
        } else if (store.contains(prefix + "experts.gate_up_proj")) {
            experts = new FusedGatedLayout(e, d, f, act, prefix + "experts.gate_up_proj", prefix + "experts.down_proj");
        } else {
            throw new ModelConfigException(
                    prefix + "input_linear.weight",
                    "missing tensor (nor the transformers 5 " + prefix + "experts.gate_up_proj)");
        }
        MoeConfig config =
                HfBlocks.config(prefix, d, f, e, HfBlocks.router(RouterType.SOFTMAX_OVER_TOPK, k, true), act, null, 0);
        return new HfMoeBlock(
                modelType(),
                layer.name(),
                prefix,
                config,
                List.of(gate),
                r -> new SoftmaxOverTopKRouter(config, gate, r.matrix(gate, e, d), null),
                experts,
                null,
                Map.of("routing", "top-" + k + " of the logits, softmax over those " + k));
    }
}
