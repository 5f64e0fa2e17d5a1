package io.moestreams.core.hf;

import io.moestreams.core.model.TensorStore;
import java.util.List;

/**
 * One Hugging Face model family ({@code config.json}'s {@code model_type}) with the inference semantics of its
 * transformers 5.x modeling code: which layers are sparse, which tensors the MoE block reads, which router and
 * which expert FFN variant it uses. One implementation per family; {@link HfFamilies} finds them.
 */
public interface HfFamily {

    /** The {@code model_type} this family reads. */
    String modelType();

    /** Every decoder layer (or switch block) in order, with whether it is sparse. */
    List<HfLayer> layers(HfConfig config);

    /**
     * The MoE block of a sparse layer. Reads only tensor headers (to tell storage layouts apart).
     *
     * @throws io.moestreams.core.config.ModelConfigException naming the key or tensor that is missing or wrong
     */
    HfMoeBlock block(HfConfig config, TensorStore store, HfLayer layer);
}
