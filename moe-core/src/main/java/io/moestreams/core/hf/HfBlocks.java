package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.TensorStore;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/** Building blocks the families share: decoder-layer lists, the pipeline config, the qwen-style expert layouts. */
final class HfBlocks {

    private HfBlocks() {}

    /** Layers {@code 0..num_hidden_layers-1} with the given sparsity rule. */
    static List<HfLayer> decoderLayers(HfConfig c, IntPredicate sparse) {
        int n = c.requireInt("num_hidden_layers", "num_layers");
        List<HfLayer> layers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            layers.add(new HfLayer(Integer.toString(i), sparse.test(i)));
        }
        return layers;
    }

    /** The decoder-layer tensor prefix {@code model.layers.L.}. */
    static String layerPrefix(HfLayer layer) {
        return "model.layers." + layer.name() + ".";
    }

    static int hiddenSize(HfConfig c) {
        return c.requireInt("hidden_size", "d_model");
    }

    static Activation activation(HfConfig c, String key, String fallback) {
        return Activation.fromHuggingFace(HfConfig.FILE_NAME + " " + key, c.string(fallback, key));
    }

    /** k, checked against E with the config.json names in the message. */
    static int topK(HfConfig c, int numExperts, int fallback, String... keys) {
        int k = fallback < 0 ? c.requireInt(keys) : c.intOr(fallback, keys);
        if (k < 1 || k > numExperts) {
            throw new ModelConfigException(
                    HfConfig.FILE_NAME + " " + String.join(" / ", keys),
                    "between 1 and the number of experts " + numExperts,
                    Integer.toString(k));
        }
        return k;
    }

    static int positive(HfConfig c, int value, String... keys) {
        if (value < 1) {
            throw new ModelConfigException(
                    HfConfig.FILE_NAME + " " + String.join(" / ", keys), "an integer >= 1", Integer.toString(value));
        }
        return value;
    }

    /** The pipeline-facing configuration of an HF block. */
    static MoeConfig config(
            String prefix,
            int d,
            int f,
            int numExperts,
            RouterConfig router,
            Activation activation,
            Integer expertCapacity,
            int numShared) {
        return new MoeConfig(
                ModelFormat.HUGGING_FACE,
                prefix,
                d,
                f,
                numExperts,
                router,
                activation,
                null,
                expertCapacity == null ? Overflow.NONE : Overflow.DROP,
                0L,
                expertCapacity,
                numShared);
    }

    static RouterConfig router(RouterType type, int k, boolean normalize) {
        return new RouterConfig(type, k, normalize, false, false);
    }

    /**
     * The routed experts of a qwen2_moe-pattern block (qwen2_moe, qwen3_moe, olmoe, deepseek): per-expert
     * {@code experts.e.gate_proj/up_proj/down_proj.weight} as {@code save_pretrained} writes them, or the v5 fused
     * {@code experts.gate_up_proj} / {@code experts.down_proj}.
     */
    static ExpertLayout qwenStyleExperts(
            TensorStore store, String prefix, int numExperts, int d, int f, Activation act) {
        String perExpert = prefix + "experts.0.gate_proj.weight";
        if (store.contains(perExpert)) {
            return new GatedLayout(
                    numExperts,
                    d,
                    f,
                    act,
                    e -> prefix + "experts." + e + ".",
                    "gate_proj",
                    "up_proj",
                    "down_proj",
                    false);
        }
        if (store.contains(prefix + "experts.gate_up_proj")) {
            return new FusedGatedLayout(
                    numExperts, d, f, act, prefix + "experts.gate_up_proj", prefix + "experts.down_proj");
        }
        throw new ModelConfigException(
                perExpert, "missing tensor (nor the fused " + prefix + "experts.gate_up_proj of transformers 5)");
    }

    /** The FP8 block size from {@code quantization_config.weight_block_size} (default 128 x 128). */
    static int[] fp8BlockSize(HfConfig c) {
        HfConfig q = c.object("quantization_config");
        if (q == null) {
            return new int[] {128, 128};
        }
        List<Integer> b = q.intList("weight_block_size");
        if (b.isEmpty()) {
            return new int[] {128, 128};
        }
        if (b.size() != 2 || b.get(0) < 1 || b.get(1) < 1) {
            throw new ModelConfigException(
                    HfConfig.FILE_NAME + " quantization_config.weight_block_size", "[rows, cols] >= 1", b.toString());
        }
        return new int[] {b.get(0), b.get(1)};
    }

    /** Compact list of layer names: runs of consecutive decoder indices as {@code a-b}. */
    static String compact(List<String> names) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (i < names.size()) {
            int j = i;
            while (j + 1 < names.size() && isNext(names.get(j), names.get(j + 1))) {
                j++;
            }
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(names.get(i));
            if (j > i) {
                sb.append(j == i + 1 ? ", " : "-").append(names.get(j));
            }
            i = j + 1;
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }

    private static boolean isNext(String a, String b) {
        try {
            return Integer.parseInt(b) == Integer.parseInt(a) + 1;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
