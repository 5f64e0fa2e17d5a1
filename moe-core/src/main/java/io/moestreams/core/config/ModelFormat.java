package io.moestreams.core.config;

/** Tensor naming scheme of a model directory (see docs/architecture.md, "Model formats"). */
public enum ModelFormat {
    /** Hugging Face Mixtral: {@code gate.weight}, {@code experts.{i}.w1/w2/w3.weight}. */
    MIXTRAL("mixtral"),
    /** Hugging Face SwitchTransformers: {@code router.classifier.weight}, {@code experts.expert_{i}.wi/wo.weight}. */
    SWITCH("switch"),
    /**
     * One MoE layer of a Hugging Face checkpoint directory ({@code config.json}); the tensor names follow the
     * family ({@code model_type}). Not a {@code moe.json} format.
     */
    HUGGING_FACE("hugging_face");

    private final String json;

    ModelFormat(String json) {
        this.json = json;
    }

    /** The spelling used in {@code moe.json}. */
    public String json() {
        return json;
    }

    public static ModelFormat fromJson(String value) {
        for (ModelFormat f : new ModelFormat[] {MIXTRAL, SWITCH}) {
            if (f.json.equals(value)) {
                return f;
            }
        }
        throw new ModelConfigException("format", "one of mixtral, switch", String.valueOf(value));
    }
}
