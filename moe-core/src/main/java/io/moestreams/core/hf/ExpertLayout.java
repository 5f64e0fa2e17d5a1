package io.moestreams.core.hf;

import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import java.util.List;

/**
 * Where one layer's experts (routed, or shared) live in a checkpoint and how their tensors become
 * {@link ExpertWeights}: one named implementation per storage layout. Loading expert i reads only expert i's
 * bytes (its own tensors, or its slice of fused tensors).
 */
public interface ExpertLayout {

    /** Number of experts stored this way (E for routed experts, the shared-expert count for shared ones). */
    int count();

    /** f, the experts' inner width. */
    int intermediateSize();

    /** A short description for {@code moe inspect}, e.g. {@code per-expert gate_proj/up_proj/down_proj}. */
    String describe();

    /** Checks the headers of expert {@code index}'s tensors (names, shapes, dtypes) without reading data. */
    void validate(WeightReader reader, int index);

    /** The bytes loading expert {@code index} reads. */
    List<TensorPart> parts(WeightReader reader, int index);

    /** Reads expert {@code ref.index()}. */
    ExpertWeights load(WeightReader reader, ExpertRef ref);
}
