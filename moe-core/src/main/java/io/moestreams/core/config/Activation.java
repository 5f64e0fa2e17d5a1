package io.moestreams.core.config;

import java.util.Locale;

/**
 * Expert activation function. {@code GELU} is the exact (erf) form; {@code GELU_TANH} is the tanh approximation
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (transformers' gelu_new / gelu_pytorch_tanh / gelu_fast).
 */
public enum Activation {
    SILU("silu"),
    RELU("relu"),
    GELU("gelu"),
    GELU_TANH("gelu_tanh");

    private static final String EXPECTED = "one of silu, relu, gelu, gelu_tanh";
    private static final String HF_EXPECTED =
            "one of silu, swish, relu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast (transformers' ACT2FN names)";

    private final String json;

    Activation(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    public static Activation fromJson(String value) {
        for (Activation a : values()) {
            if (a.json.equals(value)) {
                return a;
            }
        }
        throw new ModelConfigException("activation", EXPECTED, String.valueOf(value));
    }

    /**
     * Maps a transformers {@code hidden_act} / {@code dense_act_fn} name.
     *
     * @param key the config.json key, named in the error
     */
    public static Activation fromHuggingFace(String key, String value) {
        String v = value == null ? "" : value.toLowerCase(Locale.ROOT);
        return switch (v) {
            case "silu", "swish" -> SILU;
            case "relu" -> RELU;
            case "gelu" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
            default -> throw new ModelConfigException(key, HF_EXPECTED, String.valueOf(value));
        };
    }
}
