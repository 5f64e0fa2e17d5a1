package io.moestreams.schemas;

import io.moestreams.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** The one builder of {@link DeadLetter} records: every service dead-letters the same way. */
public final class DeadLetters {

    private DeadLetters() {}

    /**
     * A dead letter carrying the original record unchanged.
     *
     * @param sourceTopic     topic the record was read from
     * @param sourcePartition its partition
     * @param sourceOffset    its offset
     * @param key             original key bytes, or null
     * @param value           original value bytes, or null
     * @param reason          what was expected and what was found (names the field and the limit)
     * @param field           the offending field, or null
     * @param requestId       the request id when it could be read, or null
     * @param nowMs           when it was dead-lettered
     */
    public static DeadLetter of(
            String sourceTopic,
            int sourcePartition,
            long sourceOffset,
            byte[] key,
            byte[] value,
            String reason,
            String field,
            String requestId,
            long nowMs) {
        return DeadLetter.newBuilder()
                .setSourceTopic(sourceTopic)
                .setSourcePartition(sourcePartition)
                .setSourceOffset(sourceOffset)
                .setKey(key == null ? null : ByteBuffer.wrap(key))
                .setValue(value == null ? null : ByteBuffer.wrap(value))
                .setReason(reason)
                .setField(field)
                .setRequestId(requestId)
                .setTimestampMs(nowMs)
                .build();
    }

    /** {@link #of} for a record whose key is a UTF-8 string (null allowed). */
    public static DeadLetter of(
            String sourceTopic,
            int sourcePartition,
            long sourceOffset,
            String key,
            byte[] value,
            String reason,
            String field,
            String requestId,
            long nowMs) {
        return of(
                sourceTopic,
                sourcePartition,
                sourceOffset,
                key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                value,
                reason,
                field,
                requestId,
                nowMs);
    }
}
