package io.moestreams.core.config;

/** Expert activation function. {@code GELU} is the exact (erf) form. */
public enum Activation {
    SILU("silu"),
    RELU("relu"),
    GELU("gelu");

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
        throw new ModelConfigException("activation", "one of silu, relu, gelu", String.valueOf(value));
    }
}
