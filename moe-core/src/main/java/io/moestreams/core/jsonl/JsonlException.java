package io.moestreams.core.jsonl;

/**
 * A JSONL line that cannot be used. The message reads {@code line N: field: expected ..., found ...}. Readers
 * are line based: after this exception the next call continues with the next line.
 */
public class JsonlException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final long lineNumber;
    private final String field;
    private final String id;

    public JsonlException(long lineNumber, String field, String id, String message) {
        super("line " + lineNumber + ": " + field + ": " + message + (id == null ? "" : " (id " + id + ")"));
        this.lineNumber = lineNumber;
        this.field = field;
        this.id = id;
    }

    public JsonlException(long lineNumber, String field, String id, String message, Throwable cause) {
        super("line " + lineNumber + ": " + field + ": " + message + (id == null ? "" : " (id " + id + ")"), cause);
        this.lineNumber = lineNumber;
        this.field = field;
        this.id = id;
    }

    /** 1-based line number in the file. */
    public long lineNumber() {
        return lineNumber;
    }

    /** The field the problem is about, e.g. {@code tokens[2][5]}, or {@code line} for the whole line. */
    public String field() {
        return field;
    }

    /** The request id if it was read before the problem, else null (lets a caller answer with an error line). */
    public String id() {
        return id;
    }
}
