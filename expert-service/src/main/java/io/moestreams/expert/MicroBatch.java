package io.moestreams.expert;

import io.moestreams.avro.DispatchBlock;
import io.moestreams.schemas.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The blocks an expert worker computes together: their hidden rows and gate weights are decoded straight into
 * one contiguous [rows, d] buffer as they arrive (no per-block arrays), so a batch is one FFN call. Also holds the
 * blocks refused on the way (to dead-letter) and the next offset to commit per partition. Not thread-safe; reused
 * across batches.
 */
final class MicroBatch {

    /** A computed block: where it came from and its rows inside the batch. */
    record Item(ConsumerRecord<String, byte[]> record, DispatchBlock block, int firstRow, int rows) {}

    /** A refused record, with the reason. */
    record Refused(ConsumerRecord<String, byte[]> record, String reason, String field, String requestId) {}

    private final int hiddenSize;
    private final List<Item> items = new ArrayList<>();
    private final List<Refused> refused = new ArrayList<>();
    private final Map<TopicPartition, Long> nextOffsets = new HashMap<>();
    private float[] rows = new float[0];
    private float[] scales = new float[0];
    private int rowCount;
    private long openedAtNanos;

    MicroBatch(int hiddenSize) {
        this.hiddenSize = hiddenSize;
    }

    /** Adds a checked block: decodes its rows and gate weights into the batch buffers. */
    void add(ConsumerRecord<String, byte[]> record, DispatchBlock block) {
        int n = block.getPositions().size();
        opened();
        ensureRows(rowCount + n);
        Tensors.readInto(block.getHidden(), "hidden", rows, rowCount * hiddenSize);
        Tensors.readInto(block.getGateWeights(), "gateWeights", scales, rowCount);
        items.add(new Item(record, block, rowCount, n));
        rowCount += n;
        advance(record);
    }

    /** Adds a record that will not be computed (dead-lettered with the batch). */
    void refuse(ConsumerRecord<String, byte[]> record, String reason, String field, String requestId) {
        opened();
        refused.add(new Refused(record, reason, field, requestId));
        advance(record);
    }

    /** Consumes a record without computing or dead-lettering it (e.g. a block past its deadline). */
    void skip(ConsumerRecord<String, byte[]> record) {
        opened();
        advance(record);
    }

    private void opened() {
        if (isEmpty()) {
            openedAtNanos = System.nanoTime();
        }
    }

    private void advance(ConsumerRecord<String, byte[]> record) {
        nextOffsets.merge(new TopicPartition(record.topic(), record.partition()), record.offset() + 1, Math::max);
    }

    private void ensureRows(int needed) {
        if (needed * hiddenSize > rows.length) {
            int capacity = Math.max(needed, rows.length / Math.max(1, hiddenSize) * 2);
            rows = Arrays.copyOf(rows, capacity * hiddenSize);
            scales = Arrays.copyOf(scales, capacity);
        }
    }

    boolean isEmpty() {
        return nextOffsets.isEmpty();
    }

    int rowCount() {
        return rowCount;
    }

    /** When the first record of this batch arrived ({@link System#nanoTime}). */
    long openedAtNanos() {
        return openedAtNanos;
    }

    /** Row-major [rowCount, d]; only the first rowCount·d values belong to this batch. */
    float[] rows() {
        return rows;
    }

    /** Gate weight per row; only the first rowCount values belong to this batch. */
    float[] scales() {
        return scales;
    }

    List<Item> items() {
        return Collections.unmodifiableList(items);
    }

    List<Refused> refused() {
        return Collections.unmodifiableList(refused);
    }

    /** The offset after the last record of this batch, per partition. */
    Map<TopicPartition, Long> nextOffsets() {
        return Collections.unmodifiableMap(nextOffsets);
    }

    void clear() {
        items.clear();
        refused.clear();
        nextOffsets.clear();
        rowCount = 0;
    }
}
