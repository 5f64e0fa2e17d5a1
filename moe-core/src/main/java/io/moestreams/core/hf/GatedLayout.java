package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.ffn.GatedMlpWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Gated-MLP experts stored one tensor per projection and expert: mixtral {@code experts.e.w1/w3/w2.weight},
 * qwen / olmoe / deepseek {@code experts.e.gate_proj/up_proj/down_proj.weight}, and the shared experts
 * ({@code shared_expert.*}, {@code shared_experts.*}). F8_E4M3 weights with {@code weight_scale_inv} are
 * dequantized at load. Optional biases ({@code *.bias}, deepseek_v2 with mlp_bias).
 */
public final class GatedLayout implements ExpertLayout {

    private final int count;
    private final int hiddenSize;
    private final int intermediateSize;
    private final Activation activation;
    private final IntFunction<String> base;
    private final String gate;
    private final String up;
    private final String down;
    private final boolean biases;

    /**
     * @param base   expert index → name prefix, e.g. {@code e -> "model.layers.1.mlp.experts." + e + "."}
     * @param gate   gate projection name after the prefix without {@code .weight}, e.g. {@code w1}, {@code gate_proj}
     * @param up     up projection, e.g. {@code w3}, {@code up_proj}
     * @param down   down projection, e.g. {@code w2}, {@code down_proj}
     * @param biases read {@code <proj>.bias} too
     */
    public GatedLayout(
            int count,
            int hiddenSize,
            int intermediateSize,
            Activation activation,
            IntFunction<String> base,
            String gate,
            String up,
            String down,
            boolean biases) {
        this.count = count;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.activation = activation;
        this.base = base;
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.biases = biases;
    }

    @Override
    public int count() {
        return count;
    }

    @Override
    public int intermediateSize() {
        return intermediateSize;
    }

    @Override
    public String describe() {
        return "per-expert " + gate + "/" + up + "/" + down + (biases ? " with biases" : "");
    }

    private String name(int index, String proj, String kind) {
        return base.apply(index) + proj + "." + kind;
    }

    @Override
    public void validate(WeightReader r, int index) {
        int d = hiddenSize;
        int f = intermediateSize;
        r.validateMatrix(name(index, gate, "weight"), f, d);
        r.validateMatrix(name(index, up, "weight"), f, d);
        r.validateMatrix(name(index, down, "weight"), d, f);
        if (biases) {
            r.validateVector(name(index, gate, "bias"), 0, f);
            r.validateVector(name(index, up, "bias"), 0, f);
            r.validateVector(name(index, down, "bias"), 0, d);
        }
    }

    @Override
    public List<TensorPart> parts(WeightReader r, int index) {
        List<TensorPart> parts = new ArrayList<>();
        for (String proj : new String[] {gate, up, down}) {
            parts.addAll(r.matrixParts(name(index, proj, "weight")));
            if (biases) {
                String b = name(index, proj, "bias");
                parts.add(r.part(b, r.store().info(b).byteLength()));
            }
        }
        return parts;
    }

    @Override
    public ExpertWeights load(WeightReader r, ExpertRef ref) {
        int i = ref.index();
        int d = hiddenSize;
        int f = intermediateSize;
        validate(r, i);
        float[] g = r.matrix(name(i, gate, "weight"), f, d);
        float[] u = r.matrix(name(i, up, "weight"), f, d);
        float[] w = r.matrix(name(i, down, "weight"), d, f);
        if (!biases) {
            return new GatedMlpWeights(ref, d, f, activation, g, u, w);
        }
        return new GatedMlpWeights(
                ref,
                d,
                f,
                activation,
                g,
                u,
                w,
                r.vector(name(i, gate, "bias"), f),
                r.vector(name(i, up, "bias"), f),
                r.vector(name(i, down, "bias"), d));
    }

    @Override
    public String toString() {
        return "GatedLayout[" + describe() + ", experts=" + count + "]";
    }
}
