package io.moestreams.core.jsonl;

/** Status of a response line (DESIGN.md, "Records and topics"). */
public enum ResponseStatus {
    OK,
    PARTIAL,
    REJECTED,
    TIMEOUT
}
