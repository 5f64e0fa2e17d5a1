package io.moestreams.gateway;

import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import java.nio.ByteBuffer;
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

    static DeadLetter deadLetter(
            String topic,
            int partition,
            long offset,
            byte[] key,
            byte[] value,
            String reason,
            String field,
            String requestId,
            long nowMs) {
        return DeadLetter.newBuilder()
                .setSourceTopic(topic)
                .setSourcePartition(partition)
                .setSourceOffset(offset)
                .setKey(key == null ? null : ByteBuffer.wrap(key))
                .setValue(value == null ? null : ByteBuffer.wrap(value))
                .setReason(reason)
                .setField(field)
                .setRequestId(requestId)
                .setTimestampMs(nowMs)
                .build();
    }
}
