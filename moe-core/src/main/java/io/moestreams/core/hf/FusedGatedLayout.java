package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.ffn.GatedMlpWeights;
import java.util.Arrays;
import java.util.List;

/**
 * Gated-MLP experts stacked in two tensors: {@code gate_up [E, 2f, d]} (gate rows 0..f-1, up rows f..2f-1) and
 * {@code down [E, d, f]}: transformers 5.x's fused layout ({@code mlp.experts.gate_up_proj} /
 * {@code mlp.experts.down_proj}, written with {@code save_original_format=False}) and granitemoe's
 * {@code block_sparse_moe.input_linear.weight} / {@code output_linear.weight}. Expert e reads only its slices.
 */
public final class FusedGatedLayout implements ExpertLayout {

    private final int count;
    private final int hiddenSize;
    private final int intermediateSize;
    private final Activation activation;
    private final String gateUp;
    private final String down;

    public FusedGatedLayout(
            int count, int hiddenSize, int intermediateSize, Activation activation, String gateUp, String down) {
        this.count = count;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.activation = activation;
        this.gateUp = gateUp;
        this.down = down;
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
        return "fused " + gateUp + " [E,2f,d] (gate rows first) + " + down + " [E,d,f]";
    }

    @Override
    public void validate(WeightReader r, int index) {
        r.validateFused(gateUp, count, 2 * intermediateSize, hiddenSize);
        r.validateFused(down, count, hiddenSize, intermediateSize);
    }

    @Override
    public List<TensorPart> parts(WeightReader r, int index) {
        return List.of(r.fusedPart(gateUp, count), r.fusedPart(down, count));
    }

    @Override
    public ExpertWeights load(WeightReader r, ExpertRef ref) {
        int e = ref.index();
        int d = hiddenSize;
        int f = intermediateSize;
        float[] gu = r.fusedSlice(gateUp, e, count, 2 * f, d);
        float[] w = r.fusedSlice(down, e, count, d, f);
        float[] g = Arrays.copyOfRange(gu, 0, f * d);
        float[] u = Arrays.copyOfRange(gu, f * d, 2 * f * d);
        return new GatedMlpWeights(ref, d, f, activation, g, u, w);
    }

    @Override
    public String toString() {
        return "FusedGatedLayout[" + describe() + ", experts=" + count + "]";
    }
}
