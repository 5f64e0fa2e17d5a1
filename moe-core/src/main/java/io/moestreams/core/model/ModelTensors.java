package io.moestreams.core.model;

import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import java.util.List;

/**
 * The tensor names and shapes a model directory must contain (docs/architecture.md, "Model formats"), full names including
 * {@code tensor_prefix}. Shapes are PyTorch {@code [out, in]}.
 */
public final class ModelTensors {

    private ModelTensors() {}

    /**
     * One expected 2-D tensor.
     *
     * @param name full tensor name
     * @param rows first dimension
     * @param cols second dimension
     */
    public record Expected(String name, int rows, int cols) {
        public Expected {
            if (name == null || name.isEmpty() || rows < 1 || cols < 1) {
                throw new IllegalArgumentException("expected tensor needs a name and positive dimensions");
            }
        }

        /** The shape as a long array. */
        public long[] shape() {
            return new long[] {rows, cols};
        }
    }

    /** {@code gate.weight} (mixtral) or {@code router.classifier.weight} (switch), [E, d]. */
    public static Expected gate(MoeConfig config) {
        String local = config.format() == ModelFormat.SWITCH ? "router.classifier.weight" : "gate.weight";
        return new Expected(config.tensorPrefix() + local, config.numExperts(), config.hiddenSize());
    }

    /** {@code noise.weight} [E, d], read by {@code noisy_topk} when present. */
    public static Expected noise(MoeConfig config) {
        return new Expected(config.tensorPrefix() + "noise.weight", config.numExperts(), config.hiddenSize());
    }

    /**
     * The weights of expert {@code e} in the order the FFN constructors take them: mixtral w1 [f,d], w3 [f,d],
     * w2 [d,f]; switch wi [f,d], wo [d,f].
     */
    public static List<Expected> expert(MoeConfig config, int e) {
        String p = config.tensorPrefix();
        int d = config.hiddenSize();
        int f = config.intermediateSize();
        if (config.format() == ModelFormat.SWITCH) {
            String base = p + "experts.expert_" + e + ".";
            return List.of(new Expected(base + "wi.weight", f, d), new Expected(base + "wo.weight", d, f));
        }
        String base = p + "experts." + e + ".";
        return List.of(
                new Expected(base + "w1.weight", f, d),
                new Expected(base + "w3.weight", f, d),
                new Expected(base + "w2.weight", d, f));
    }
}
