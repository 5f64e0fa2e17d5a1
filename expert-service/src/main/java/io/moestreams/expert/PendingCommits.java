package io.moestreams.expert;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * The consumed offsets of batches whose results are still being sent. A batch's offsets may be committed once
 * every record it produced is acknowledged and every earlier batch's offsets may be committed too (acks of
 * different result partitions complete out of order). This is what makes the expert hop at-least-once: a crash
 * between acknowledgement and commit re-computes the batch, and the combiner ignores the duplicate results
 * (docs/architecture.md, "Delivery guarantees per hop").
 *
 * <p>Batches are opened on the worker thread; {@link Ticket#done} is called from the producer's I/O thread.
 */
final class PendingCommits {

    /** One batch's outstanding sends. */
    final class Ticket {
        private final Map<TopicPartition, Long> offsets;
        private final long openedAtNanos = System.nanoTime();
        private int outstanding;
        private RuntimeException failure;

        private Ticket(Map<TopicPartition, Long> offsets, int sends) {
            this.offsets = offsets;
            this.outstanding = sends;
        }

        /** One send of this batch completed (failure null) or failed for good. */
        void done(Exception failure) {
            synchronized (PendingCommits.this) {
                if (failure != null && this.failure == null) {
                    this.failure = failure instanceof RuntimeException r ? r : new IllegalStateException(failure);
                }
                outstanding--;
                PendingCommits.this.notifyAll();
            }
        }
    }

    private final Deque<Ticket> batches = new ArrayDeque<>();

    /** Registers a batch that will make {@code sends} sends (0 is allowed: its offsets are committable at once). */
    synchronized Ticket open(Map<TopicPartition, Long> nextOffsets, int sends) {
        Ticket t = new Ticket(Map.copyOf(nextOffsets), sends);
        batches.addLast(t);
        return t;
    }

    /**
     * Removes and returns the offsets that may be committed now (the next offset per partition of the acknowledged
     * prefix of batches), or an empty map.
     *
     * @throws IllegalStateException wrapping the first send that failed for good; the caller rewinds
     */
    synchronized Map<TopicPartition, Long> committable() {
        return committable(0);
    }

    /**
     * {@link #committable()}, holding back batches opened less than {@code minAgeNanos} ago (a chaos-testing aid
     * that widens the window in which a crash recomputes work; 0 in production).
     */
    synchronized Map<TopicPartition, Long> committable(long minAgeNanos) {
        Map<TopicPartition, Long> out = new HashMap<>();
        long now = System.nanoTime();
        while (!batches.isEmpty()) {
            Ticket head = batches.peekFirst();
            if (head.failure != null) {
                throw new IllegalStateException("sending the results of a batch failed", head.failure);
            }
            if (head.outstanding > 0 || now - head.openedAtNanos < minAgeNanos) {
                break;
            }
            batches.removeFirst();
            head.offsets.forEach((tp, next) -> out.merge(tp, next, Math::max));
        }
        return out;
    }

    /** Batches not yet committable. */
    synchronized int open() {
        return batches.size();
    }

    /** Forgets every batch (after a rewind: they will be consumed and sent again). */
    synchronized void clear() {
        batches.clear();
    }
}
