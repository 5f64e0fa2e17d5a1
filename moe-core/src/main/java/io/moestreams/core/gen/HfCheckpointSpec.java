package io.moestreams.core.gen;

import io.moestreams.core.hf.HfFamilies;
import io.moestreams.core.model.SafetensorsDtype;
import java.util.Objects;

/**
 * What {@link HfCheckpointGenerator} writes: a small random checkpoint of one family, laid out as transformers
 * writes it.
 *
 * @param family       {@code model_type}: mixtral, qwen2_moe, qwen3_moe, olmoe, deepseek_v3, deepseek_v2,
 *                     switch_transformers, granitemoe, gpt_oss
 * @param hidden       hidden size d
 * @param intermediate routed expert width f (also the dense MLP and shared expert base width)
 * @param experts      routed experts E
 * @param topK         experts per token (ignored by switch_transformers: top-1)
 * @param layers       decoder layers (switch_transformers: blocks per stack)
 * @param shards       number of safetensors shards (1 = a single model.safetensors)
 * @param dtype        stored dtype of the weights (BF16 as released; routers' bias F32 where the release has it)
 * @param seed         random seed
 * @param v4Keys       write config.json with transformers 4.x key names ({@code torch_dtype}, qwen3_moe
 *                     {@code num_experts}, ...) instead of 5.x's
 */
public record HfCheckpointSpec(
        String family,
        int hidden,
        int intermediate,
        int experts,
        int topK,
        int layers,
        int shards,
        SafetensorsDtype dtype,
        long seed,
        boolean v4Keys) {

    public HfCheckpointSpec {
        HfFamilies.forModelType(family);
        Objects.requireNonNull(dtype, "dtype");
        if (!dtype.readableAsF32()) {
            throw new IllegalArgumentException("dtype: expected F32, F16 or BF16, found " + dtype);
        }
        if (hidden < 1 || intermediate < 1 || experts < 2 || layers < 2 || shards < 1) {
            throw new IllegalArgumentException("hidden, intermediate >= 1, experts >= 2, layers >= 2 and shards >= 1"
                    + " expected, found " + hidden + ", " + intermediate + ", " + experts + ", " + layers + ", "
                    + shards);
        }
        if (topK < 1 || topK > experts) {
            throw new IllegalArgumentException("top-k: expected between 1 and " + experts + ", found " + topK);
        }
        if (family.equals("gpt_oss") && hidden % 2 != 0) {
            throw new IllegalArgumentException("hidden: gpt_oss needs an even hidden size, found " + hidden);
        }
        if (family.startsWith("deepseek") && experts % 4 != 0) {
            throw new IllegalArgumentException("experts: the deepseek generator uses 4 expert groups, so E must be a"
                    + " multiple of 4, found " + experts);
        }
    }

    /** A demo-sized default of a family: d = 64, f = 96, 8 experts (16 for deepseek), top-2, 4 layers, 3 shards. */
    public static HfCheckpointSpec demo(String family, long seed) {
        int experts = family.startsWith("deepseek") ? 16 : 8;
        return new HfCheckpointSpec(family, 64, 96, experts, 2, 4, 3, SafetensorsDtype.BF16, seed, false);
    }

    /** The same with other sizes. */
    public HfCheckpointSpec withSizes(int hidden, int intermediate, int experts, int topK) {
        return new HfCheckpointSpec(family, hidden, intermediate, experts, topK, layers, shards, dtype, seed, v4Keys);
    }

    /** The same with other layer and shard counts. */
    public HfCheckpointSpec withLayout(int layers, int shards) {
        return new HfCheckpointSpec(family, hidden, intermediate, experts, topK, layers, shards, dtype, seed, v4Keys);
    }

    /** The same with transformers 4.x (true) or 5.x config.json key names. */
    public HfCheckpointSpec withV4Keys(boolean v4) {
        return new HfCheckpointSpec(family, hidden, intermediate, experts, topK, layers, shards, dtype, seed, v4);
    }

    /** The same with another stored dtype. */
    public HfCheckpointSpec withDtype(SafetensorsDtype d) {
        return new HfCheckpointSpec(family, hidden, intermediate, experts, topK, layers, shards, d, seed, v4Keys);
    }
}
