package io.moestreams.core.config;

/** The gating algorithms of DESIGN.md, "Routing". */
public enum RouterType {
    TOPK_SOFTMAX("topk_softmax"),
    SWITCH("switch"),
    NOISY_TOPK("noisy_topk"),
    GSHARD_TOP2("gshard_top2"),
    EXPERT_CHOICE("expert_choice");

    private final String json;

    RouterType(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    public static RouterType fromJson(String value) {
        for (RouterType t : values()) {
            if (t.json.equals(value)) {
                return t;
            }
        }
        throw new ModelConfigException(
                "router.type",
                "one of topk_softmax, switch, noisy_topk, gshard_top2, expert_choice",
                String.valueOf(value));
    }
}
