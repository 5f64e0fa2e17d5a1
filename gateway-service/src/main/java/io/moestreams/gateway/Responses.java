package io.moestreams.gateway;

import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import java.util.List;

/** Builders of the records the gateway and combiner emit for requests that cannot be served. */
final class Responses {

    private Responses() {}

    static InferenceResponse rejected(String requestId, String reason, long receivedAtMs, long nowMs) {
        return unserved(requestId, ResponseStatus.REJECTED, reason, receivedAtMs, nowMs);
    }

    /** A request whose deadline had passed before it could be dispatched. */
    static InferenceResponse expired(String requestId, String reason, long receivedAtMs, long nowMs) {
        return unserved(requestId, ResponseStatus.TIMEOUT, reason, receivedAtMs, nowMs);
    }

    private static InferenceResponse unserved(
            String requestId, ResponseStatus status, String reason, long receivedAtMs, long nowMs) {
        return InferenceResponse.newBuilder()
                .setRequestId(requestId)
                .setStatus(status)
                .setOutput(null)
                .setTokenExperts(List.of())
                .setTokenWeights(null)
                .setDropped(List.of())
                .setMissingExperts(List.of())
                .setError(reason)
                .setReceivedAtMs(receivedAtMs)
                .setCompletedAtMs(nowMs)
                .build();
    }
}
