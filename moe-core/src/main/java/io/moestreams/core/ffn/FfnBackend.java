package io.moestreams.core.ffn;

/**
 * Builds expert FFNs from their weights. moe-core defines the variants; the ND4J implementation lives in the
 * moe-compute module ({@code io.moestreams.compute.ffn.Nd4jBackend}) so that processes that only route (the
 * gateway) have no ND4J on their classpath.
 */
public interface FfnBackend {

    /** {@link GatedMlpWeights}: mixtral, qwen2_moe, qwen3_moe, olmoe, deepseek, granitemoe. */
    ExpertFfn gated(GatedMlpWeights weights);

    /** {@link DenseMlpWeights}: switch_transformers. */
    ExpertFfn denseActDense(DenseMlpWeights weights);

    /** {@link ClampedSwigluWeights}: gpt_oss. */
    ExpertFfn clampedSwiglu(ClampedSwigluWeights weights);
}
