package io.moestreams.core.config;

/** The gating algorithms of docs/architecture.md, "Routing". */
public enum RouterType {
    TOPK_SOFTMAX("topk_softmax"),
    SWITCH("switch"),
    NOISY_TOPK("noisy_topk"),
    GSHARD_TOP2("gshard_top2"),
    EXPERT_CHOICE("expert_choice"),
    /** granitemoe, gpt_oss: the k largest logits (gpt_oss adds a router bias), softmax over those k. */
    SOFTMAX_OVER_TOPK("softmax_over_topk", true),
    /** deepseek_v3: sigmoid scores, bias-corrected group-limited selection, routed_scaling_factor. */
    DEEPSEEK_V3("deepseek_v3", true),
    /** deepseek_v2: softmax scores, greedy or group-limited selection, routed_scaling_factor. */
    DEEPSEEK_V2("deepseek_v2", true);

    private final String json;
    private final boolean huggingFaceOnly;

    RouterType(String json) {
        this(json, false);
    }

    RouterType(String json, boolean huggingFaceOnly) {
        this.json = json;
        this.huggingFaceOnly = huggingFaceOnly;
    }

    public String json() {
        return json;
    }

    /** True for the routers of Hugging Face families that {@code moe.json} does not offer. */
    public boolean huggingFaceOnly() {
        return huggingFaceOnly;
    }

    public static RouterType fromJson(String value) {
        for (RouterType t : values()) {
            if (t.json.equals(value) && !t.huggingFaceOnly) {
                return t;
            }
        }
        throw new ModelConfigException(
                "router.type",
                "one of topk_softmax, switch, noisy_topk, gshard_top2, expert_choice",
                String.valueOf(value));
    }
}
