package io.moestreams.gateway;

/**
 * Why a request cannot be served. The message names the field, the limit and what was found; it travels in the
 * REJECTED response and the dead-letter record.
 */
public final class Rejection extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public Rejection(String field, String message) {
        super(field + ": " + message, null, false, false);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
