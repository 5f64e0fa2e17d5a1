package io.moestreams.schemas;

/**
 * A schema-registry call failed: the registry answered with an error, or could not be reached.
 *
 * <p>{@link #httpStatus()} and {@link #errorCode()} are the HTTP status and the registry's
 * {@code error_code} (Confluent codes, e.g. 40401 subject not found, 40403 schema not found, 409
 * incompatible schema, 42201 invalid schema); both are -1 when no answer arrived
 * ({@link #isUnreachable()}). {@link #registryMessage()} is the registry's own message.
 */
public class SchemaRegistryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** HTTP status used when the registry gave no answer at all. */
    public static final int NO_RESPONSE = -1;

    private final int httpStatus;
    private final int errorCode;
    private final String registryMessage;

    public SchemaRegistryException(
            String message, int httpStatus, int errorCode, String registryMessage, Throwable cause) {
        super(message, cause);
        this.httpStatus = httpStatus;
        this.errorCode = errorCode;
        this.registryMessage = registryMessage;
    }

    /** HTTP status of the registry's answer, or {@link #NO_RESPONSE}. */
    public int httpStatus() {
        return httpStatus;
    }

    /** The registry's {@code error_code}, or -1 when it sent none. */
    public int errorCode() {
        return errorCode;
    }

    /** The registry's {@code message} (or raw body), or null when it sent none. */
    public String registryMessage() {
        return registryMessage;
    }

    /**
     * True when {@code failure} or one of its causes is a registry that could not be asked right now (unreachable or
     * a 5xx answer): a transient condition to retry, never a reason to dead-letter a record.
     */
    public static boolean isTransient(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SchemaRegistryException e) {
                return e.isUnreachable() || e.httpStatus() >= 500;
            }
        }
        return false;
    }

    /** True when the registry could not be reached (connection refused, timeout, I/O error). */
    public boolean isUnreachable() {
        return httpStatus == NO_RESPONSE;
    }

    /** True for a 404 answer (subject, version or schema id not found). */
    public boolean isNotFound() {
        return httpStatus == 404;
    }
}
