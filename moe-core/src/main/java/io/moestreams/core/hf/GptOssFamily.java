package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.routing.SoftmaxOverTopKRouter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * gpt_oss (GptOssMLP): every layer sparse; logits with {@code router.bias}, top-k, softmax over those k; experts
 * in {@link GptOssLayout} (fused interleaved gate_up with biases, clamped SwiGLU; MXFP4 as released).
 */
final class GptOssFamily implements HfFamily {

    @Override
    public String modelType() {
        return "gpt_oss";
    }

    @Override
    public List<HfLayer> layers(HfConfig c) {
        return HfBlocks.decoderLayers(c, l -> true);
    }

    @Override
    public HfMoeBlock block(HfConfig c, TensorStore store, HfLayer layer) {
        int e = HfBlocks.positive(c, c.requireInt("num_local_experts", "num_experts"), "num_local_experts");
        int k = HfBlocks.topK(c, e, 4, "num_experts_per_tok", "experts_per_token");
        int d = HfBlocks.hiddenSize(c);
        int f = c.requireInt("intermediate_size");
        String prefix = HfBlocks.layerPrefix(layer) + "mlp.";
        boolean mxfp4 = store.contains(prefix + "experts.gate_up_proj_blocks");
        ExpertLayout experts = new GptOssLayout(e, d, f, prefix + "experts.", mxfp4);
        MoeConfig config = HfBlocks.config(
                prefix, d, f, e, HfBlocks.router(RouterType.SOFTMAX_OVER_TOPK, k, true), Activation.SILU, null, 0);
        String gate = prefix + "router.weight";
        String bias = prefix + "router.bias";
        Map<String, String> details = new LinkedHashMap<>();
        details.put("routing", "top-" + k + " of the logits (with router.bias), softmax over those " + k);
        details.put(
                "expert ffn",
                "clamped SwiGLU (alpha " + GptOssLayout.ALPHA + ", limit " + GptOssLayout.LIMIT + ")"
                        + (mxfp4 ? ", MXFP4 dequantized at load" : ""));
        return new HfMoeBlock(
                modelType(),
                layer.name(),
                prefix,
                config,
                List.of(gate, bias),
                r -> new SoftmaxOverTopKRouter(config, gate, r.matrix(gate, e, d), r.vector(bias, e)),
                experts,
                null,
                details);
    }
}
