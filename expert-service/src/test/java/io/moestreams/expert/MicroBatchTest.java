package io.moestreams.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DispatchBlock;
import io.moestreams.schemas.Tensors;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class MicroBatchTest {

    private static final int D = 3;

    private static ConsumerRecord<String, byte[]> record(int partition, long offset, String key) {
        return new ConsumerRecord<>("moe.expert.1", partition, offset, key, new byte[] {1});
    }

    private static DispatchBlock block(String id, float[] rows, float[] weights, List<Integer> positions) {
        return DispatchBlock.newBuilder()
                .setRequestId(id)
                .setExpert(1)
                .setAttempt(0)
                .setSeqLen(8)
                .setPositions(positions)
                .setGateWeights(Tensors.f32(weights, weights.length))
                .setHidden(Tensors.bf16(rows, positions.size(), D))
                .setDeadlineMs(0)
                .build();
    }

    @Test
    void blocksAreDecodedIntoOneContiguousBufferInArrivalOrder() {
        // Given two blocks of 2 and 1 rows (one of them BF16 on the wire)
        MicroBatch batch = new MicroBatch(D);
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {7, 8, 9};
        batch.add(record(0, 10, "a"), block("a", a, new float[] {0.5f, 0.25f}, List.of(1, 4)));
        batch.add(record(1, 3, "b"), block("b", b, new float[] {1f}, List.of(0)));

        // Then the rows and gate weights sit back to back, and each item knows its rows
        assertEquals(3, batch.rowCount());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, Arrays.copyOf(batch.rows(), 9));
        assertArrayEquals(new float[] {0.5f, 0.25f, 1f}, Arrays.copyOf(batch.scales(), 3));
        assertEquals(0, batch.items().get(0).firstRow());
        assertEquals(2, batch.items().get(1).firstRow());
        assertEquals(1, batch.items().get(1).rows());
    }

    @Test
    void nextOffsetsCoverComputedRefusedAndSkippedRecordsPerPartition() {
        // Given computed, refused and skipped records on two partitions
        MicroBatch batch = new MicroBatch(D);
        batch.add(record(0, 10, "a"), block("a", new float[] {1, 2, 3}, new float[] {1f}, List.of(0)));
        batch.refuse(record(0, 12, "x"), "value: undecodable", "value", null);
        batch.skip(record(1, 40, "old"));

        // Then the commit moves past every one of them, and only the computed one has rows
        assertEquals(
                Map.of(new TopicPartition("moe.expert.1", 0), 13L, new TopicPartition("moe.expert.1", 1), 41L),
                batch.nextOffsets());
        assertEquals(1, batch.rowCount());
        assertEquals(1, batch.refused().size());
    }

    @Test
    void aClearedBatchIsEmptyAndReusesItsBuffers() {
        MicroBatch batch = new MicroBatch(D);
        batch.add(record(0, 1, "a"), block("a", new float[] {1, 2, 3}, new float[] {1f}, List.of(0)));
        float[] buffer = batch.rows();
        batch.clear();
        assertTrue(batch.isEmpty());
        assertEquals(0, batch.rowCount());
        batch.add(record(0, 2, "b"), block("b", new float[] {4, 5, 6}, new float[] {2f}, List.of(3)));
        assertTrue(buffer == batch.rows(), "the buffer is reused");
        assertArrayEquals(new float[] {4, 5, 6}, Arrays.copyOf(batch.rows(), 3));
    }
}
