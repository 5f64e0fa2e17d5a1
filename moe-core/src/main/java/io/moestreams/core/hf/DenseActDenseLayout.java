package io.moestreams.core.hf;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.DenseMlpWeights;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import java.util.ArrayList;
import java.util.List;

/** switch_transformers experts: {@code <prefix>experts.expert_i.wi.weight [f,d]} and {@code wo.weight [d,f]}. */
public final class DenseActDenseLayout implements ExpertLayout {

    private final int count;
    private final int hiddenSize;
    private final int intermediateSize;
    private final Activation activation;
    private final String prefix;

    /** @param prefix the block's prefix, e.g. {@code encoder.block.1.layer.1.mlp.} */
    public DenseActDenseLayout(int count, int hiddenSize, int intermediateSize, Activation activation, String prefix) {
        this.count = count;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.activation = activation;
        this.prefix = prefix;
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
        return "per-expert experts.expert_i.wi/wo";
    }

    private String name(int i, String w) {
        return prefix + "experts.expert_" + i + "." + w + ".weight";
    }

    @Override
    public void validate(WeightReader r, int index) {
        r.validateMatrix(name(index, "wi"), intermediateSize, hiddenSize);
        r.validateMatrix(name(index, "wo"), hiddenSize, intermediateSize);
    }

    @Override
    public List<TensorPart> parts(WeightReader r, int index) {
        List<TensorPart> parts = new ArrayList<>(r.matrixParts(name(index, "wi")));
        parts.addAll(r.matrixParts(name(index, "wo")));
        return parts;
    }

    @Override
    public ExpertWeights load(WeightReader r, ExpertRef ref) {
        int i = ref.index();
        validate(r, i);
        return new DenseMlpWeights(
                ref,
                hiddenSize,
                intermediateSize,
                activation,
                r.matrix(name(i, "wi"), intermediateSize, hiddenSize),
                r.matrix(name(i, "wo"), hiddenSize, intermediateSize));
    }

    @Override
    public String toString() {
        return "DenseActDenseLayout[" + prefix + ", experts=" + count + "]";
    }
}
