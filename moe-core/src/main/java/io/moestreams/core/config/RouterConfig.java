package io.moestreams.core.config;

/**
 * The {@code router} object of {@code moe.json}.
 *
 * @param type          gating algorithm
 * @param topK          experts per token (k); for {@code switch} always 1; for {@code expert_choice}
 *                      the k in the capacity formula (default 2)
 * @param normalize     {@code topk_softmax}: renormalise the selected probabilities (default true)
 * @param noise         {@code noisy_topk}: add the learned Gaussian noise (default false)
 * @param randomRouting {@code gshard_top2}: use the second expert only if 2·g2 &gt; u (default false)
 */
public record RouterConfig(RouterType type, int topK, boolean normalize, boolean noise, boolean randomRouting) {
    public RouterConfig {
        if (type == null) {
            throw new ModelConfigException("router.type", "a router type", "nothing");
        }
        if (topK < 1) {
            throw new ModelConfigException("router.top_k", "an integer >= 1", Integer.toString(topK));
        }
        if (type == RouterType.SWITCH && topK != 1) {
            throw new ModelConfigException("router.top_k", "1 for the switch router", Integer.toString(topK));
        }
        if (type == RouterType.GSHARD_TOP2 && topK != 2) {
            throw new ModelConfigException("router.top_k", "2 for the gshard_top2 router", Integer.toString(topK));
        }
    }
}
