package io.moestreams.core.jsonl;

/** Status of a response line (docs/architecture.md, "Topics and records"). */
public enum ResponseStatus {
    OK,
    PARTIAL,
    REJECTED,
    TIMEOUT
}
