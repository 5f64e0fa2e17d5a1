package io.moestreams.expert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class PendingCommitsTest {

    private static final TopicPartition P0 = new TopicPartition("moe.expert.0", 0);
    private static final TopicPartition P1 = new TopicPartition("moe.expert.0", 1);

    @Test
    void aBatchIsCommittableOnlyOnceEveryOneOfItsSendsIsAcknowledged() {
        // Given a batch of three sends
        PendingCommits commits = new PendingCommits();
        PendingCommits.Ticket t = commits.open(Map.of(P0, 10L), 3);

        // When two are acknowledged / Then nothing may be committed yet
        t.done(null);
        t.done(null);
        assertTrue(commits.committable().isEmpty());

        // When the last one is / Then its next offset may be committed, once
        t.done(null);
        assertEquals(Map.of(P0, 10L), commits.committable());
        assertTrue(commits.committable().isEmpty());
        assertEquals(0, commits.open());
    }

    @Test
    void aLaterBatchAcknowledgedFirstWaitsForTheEarlierOne() {
        // Given two batches on the same partitions, the second acknowledged before the first
        PendingCommits commits = new PendingCommits();
        PendingCommits.Ticket first = commits.open(Map.of(P0, 5L, P1, 7L), 1);
        PendingCommits.Ticket second = commits.open(Map.of(P0, 9L), 1);
        second.done(null);

        // Then nothing may be committed: committing offset 9 would skip the unacknowledged first batch
        assertTrue(commits.committable().isEmpty());

        // When the first is acknowledged / Then both commit together, with the highest offset per partition
        first.done(null);
        assertEquals(Map.of(P0, 9L, P1, 7L), commits.committable());
    }

    @Test
    void aBatchWithoutSendsIsCommittableAtOnce() {
        PendingCommits commits = new PendingCommits();
        commits.open(Map.of(P1, 3L), 0);
        assertEquals(Map.of(P1, 3L), commits.committable());
    }

    @Test
    void aFailedSendStopsCommitsAndIsReportedUntilCleared() {
        // Given a batch whose send failed for good
        PendingCommits commits = new PendingCommits();
        PendingCommits.Ticket t = commits.open(Map.of(P0, 4L), 2);
        RuntimeException failure = new IllegalStateException("broker gone");
        t.done(failure);
        t.done(null);

        // Then asking for committable offsets reports the failure (the worker rewinds)
        IllegalStateException e = assertThrows(IllegalStateException.class, commits::committable);
        assertSame(failure, e.getCause());

        // And after clearing, nothing of it is committed
        commits.clear();
        assertTrue(commits.committable().isEmpty());
    }

    @Test
    void aMinimumAgeHoldsBackRecentBatches() {
        // Given an acknowledged batch just opened
        PendingCommits commits = new PendingCommits();
        commits.open(Map.of(P0, 1L), 0);

        // Then with a one-hour minimum age it is held back, and without one it is committable
        assertTrue(commits.committable(3_600_000_000_000L).isEmpty());
        assertEquals(Map.of(P0, 1L), commits.committable(0));
    }
}
