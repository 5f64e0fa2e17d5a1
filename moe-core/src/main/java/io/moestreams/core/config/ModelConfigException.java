package io.moestreams.core.config;

/**
 * A model directory ({@code moe.json} or {@code model.safetensors}) that cannot be used.
 * The message always names the field or tensor, what was expected and what was found.
 */
public class ModelConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public ModelConfigException(String field, String expected, String found) {
        super(field + ": expected " + expected + ", found " + found);
        this.field = field;
    }

    public ModelConfigException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public ModelConfigException(String field, String message, Throwable cause) {
        super(field + ": " + message, cause);
        this.field = field;
    }

    /** The {@code moe.json} field or tensor name the problem is about. */
    public String field() {
        return field;
    }
}
