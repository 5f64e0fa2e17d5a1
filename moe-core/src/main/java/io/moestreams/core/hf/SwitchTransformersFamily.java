package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.routing.Routers;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * switch_transformers (SwitchTransformersSparseMLP): layers {@code encoder.B} ({@code encoder.block.B.layer.1.mlp.})
 * and {@code decoder.B} ({@code decoder.block.B.layer.2.mlp.}); block i of a stack is sparse iff
 * {@code step > 0 and (i % step == 1 or step == 1)} with step = num_layers // num_sparse_encoder_layers (num_layers
 * when that count is 0), as SwitchTransformersConfig.__post_init__ recomputes it; top-1 of softmax (fp32), weight
 * p_max; each expert keeps its first {@code expert_capacity} tokens of the sequence in position order, the others
 * output zero and are listed as dropped.
 */
final class SwitchTransformersFamily implements HfFamily {

    @Override
    public String modelType() {
        return "switch_transformers";
    }

    @Override
    public List<HfLayer> layers(HfConfig c) {
        int encoder = c.intOr(12, "num_layers", "num_hidden_layers");
        int decoder = c.intOr(encoder, "num_decoder_layers");
        List<HfLayer> layers = new ArrayList<>();
        addStack(layers, "encoder", encoder, c.intOr(3, "num_sparse_encoder_layers"));
        addStack(layers, "decoder", decoder, c.intOr(3, "num_sparse_decoder_layers"));
        return layers;
    }

    private static void addStack(List<HfLayer> layers, String stack, int blocks, int numSparse) {
        int step = numSparse > 0 ? blocks / numSparse : blocks;
        for (int i = 0; i < blocks; i++) {
            boolean sparse = step > 0 && (i % step == 1 || step == 1);
            layers.add(new HfLayer(stack + "." + i, sparse));
        }
    }

    @Override
    public HfMoeBlock block(HfConfig c, TensorStore store, HfLayer layer) {
        int e = HfBlocks.positive(c, c.requireInt("num_experts"), "num_experts");
        int d = HfBlocks.hiddenSize(c);
        int f = c.requireInt("d_ff");
        int capacity = c.intOr(64, "expert_capacity");
        boolean routerBias = c.boolOr(false, "router_bias");
        Activation act = HfBlocks.activation(c, "dense_act_fn", "relu");
        String[] parts = layer.name().split("\\.");
        String prefix = parts[0] + ".block." + parts[1] + ".layer." + (parts[0].equals("encoder") ? 1 : 2) + ".mlp.";
        MoeConfig config =
                HfBlocks.config(prefix, d, f, e, HfBlocks.router(RouterType.SWITCH, 1, false), act, capacity, 0);
        String gate = prefix + "router.classifier.weight";
        String bias = prefix + "router.classifier.bias";
        Map<String, String> details = new LinkedHashMap<>();
        details.put("routing", "top-1 of softmax (fp32), weight p_max" + (routerBias ? ", router bias" : ""));
        details.put(
                "capacity",
                "expert_capacity " + capacity + " tokens per expert per sequence, in position order;"
                        + " over-capacity tokens output zero (dropped)");
        return new HfMoeBlock(
                modelType(),
                layer.name(),
                prefix,
                config,
                routerBias ? List.of(gate, bias) : List.of(gate),
                r -> Routers.switchTop1(config, gate, r.matrix(gate, e, d), routerBias ? r.vector(bias, e) : null),
                new DenseActDenseLayout(e, d, f, act, prefix),
                null,
                details);
    }
}
