package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.routing.Routers;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * mixtral (MixtralSparseMoeBlock): every layer sparse; softmax over all E (fp32), top-k, always renormalised;
 * experts w1 (gate) / w3 (up) / w2 (down) under {@code block_sparse_moe.} as {@code save_pretrained} writes them,
 * or transformers 5's fused {@code mlp.gate.weight} + {@code mlp.experts.gate_up_proj [E,2f,d]} +
 * {@code mlp.experts.down_proj [E,d,f]}.
 */
final class MixtralFamily implements HfFamily {

    @Override
    public String modelType() {
        return "mixtral";
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
        String base = HfBlocks.layerPrefix(layer);
        String prefix;
        ExpertLayout experts;
        if (store.contains(base + "block_sparse_moe.gate.weight")) {
            prefix = base + "block_sparse_moe.";
            String p = prefix;
            experts = new GatedLayout(e, d, f, act, i -> p + "experts." + i + ".", "w1", "w3", "w2", false);
        } else if (store.contains(base + "mlp.gate.weight")) {
            prefix = base + "mlp.";
            experts = new FusedGatedLayout(e, d, f, act, prefix + "experts.gate_up_proj", prefix + "experts.down_proj");
        } else {
            throw new ModelConfigException(
                    base + "block_sparse_moe.gate.weight",
                    "missing tensor (nor the transformers 5 fused " + base + "mlp.gate.weight)");
        }
        MoeConfig config =
                HfBlocks.config(prefix, d, f, e, HfBlocks.router(RouterType.TOPK_SOFTMAX, k, true), act, null, 0);
        String gate = prefix + "gate.weight";
        Map<String, String> details = new LinkedHashMap<>();
        details.put("routing", "softmax over all experts, top-" + k + ", renormalised");
        return new HfMoeBlock(
                modelType(),
                layer.name(),
                prefix,
                config,
                List.of(gate),
                r -> Routers.topKSoftmax(config, gate, r.matrix(gate, e, d)),
                experts,
                null,
                details);
    }
}
