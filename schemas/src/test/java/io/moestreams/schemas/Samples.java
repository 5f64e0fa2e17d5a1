package io.moestreams.schemas;

import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** One fully populated instance of every record type, for round-trip tests. */
final class Samples {

    private Samples() {}

    static InferenceRequest request(String id) {
        return InferenceRequest.newBuilder()
                .setRequestId(id)
                .setTokens(Tensors.f32(new float[] {0.5f, -1f, 2f, 3.25f, -0.125f, 7f}, 3, 2))
                .setDeadlineMs(1_700_000_000_123L)
                .build();
    }

    static DispatchBlock block(String id) {
        return DispatchBlock.newBuilder()
                .setRequestId(id)
                .setExpert(3)
                .setAttempt(1)
                .setSeqLen(3)
                .setPositions(List.of(0, 2))
                .setGateWeights(Tensors.f32(new float[] {0.75f, 0.25f}, 2))
                .setHidden(Tensors.bf16(new float[] {0.5f, -1f, -0.125f, 7f}, 2, 2))
                .setDeadlineMs(1_700_000_000_123L)
                .build();
    }

    static ExpertResult result(String id) {
        return ExpertResult.newBuilder()
                .setRequestId(id)
                .setExpert(3)
                .setAttempt(1)
                .setPositions(List.of(0, 2))
                .setOutput(Tensors.f16(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 2, 2))
                .setWorkerId("worker-a")
                .build();
    }

    static DispatchManifest manifest(String id) {
        return DispatchManifest.newBuilder()
                .setRequestId(id)
                .setSeqLen(3)
                .setHiddenSize(2)
                .setDeadlineMs(1_700_000_000_123L)
                .setReceivedAtMs(1_700_000_000_000L)
                .setExperts(List.of(1, 3))
                .setTokenExperts(List.of(List.of(3, 1), List.of(1), List.of()))
                .setTokenWeights(Tensors.f32(new float[] {0.75f, 0.25f, 1f}, 3))
                .setDropped(List.of(2))
                .build();
    }

    static InferenceResponse response(String id) {
        return InferenceResponse.newBuilder()
                .setRequestId(id)
                .setStatus(ResponseStatus.PARTIAL)
                .setOutput(Tensors.f32(new float[] {1f, 2f, 3f, 4f, 0f, 0f}, 3, 2))
                .setTokenExperts(List.of(List.of(3, 1), List.of(1), List.of()))
                .setTokenWeights(Tensors.f32(new float[] {0.75f, 0.25f, 1f}, 3))
                .setDropped(List.of(2))
                .setMissingExperts(List.of(1))
                .setError("expert 1 did not answer before the deadline")
                .setReceivedAtMs(1_700_000_000_000L)
                .setCompletedAtMs(1_700_000_000_200L)
                .build();
    }

    static InferenceResponse rejected(String id) {
        return InferenceResponse.newBuilder()
                .setRequestId(id)
                .setStatus(ResponseStatus.REJECTED)
                .setTokenExperts(List.of())
                .setDropped(List.of())
                .setMissingExperts(List.of())
                .setError("tokens: hidden size 3, expected 2")
                .setReceivedAtMs(1L)
                .setCompletedAtMs(2L)
                .build();
    }

    static DeadLetter deadLetter(String id) {
        return DeadLetter.newBuilder()
                .setSourceTopic("moe.requests")
                .setSourcePartition(2)
                .setSourceOffset(12345L)
                .setKey(ByteBuffer.wrap(id.getBytes(StandardCharsets.UTF_8)))
                .setValue(ByteBuffer.wrap(new byte[] {0x7b, 0, 1, 2, (byte) 0xFF}))
                .setReason("unknown magic byte 0x7b (expected 0x0)")
                .setField(null)
                .setRequestId(id)
                .setTimestampMs(1_700_000_000_500L)
                .build();
    }
}
