package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CatchUpTest {

    @Test
    void aTaskThatProcessedNothingIsNeverCaughtUpByIdlingAlone() {
        // Given a restarted task whose first fetch has not come back
        CatchUp c = new CatchUp();

        // Then however long it waits, idling does not make it caught up (the deadline hold decides)
        assertFalse(c.caughtUp(0));
        assertFalse(c.caughtUp(60_000));
    }

    @Test
    void replayingOldRecordsIsBehindAndAFreshRecordIsCaughtUp() {
        // Given a task working through records written 10 s ago
        CatchUp c = new CatchUp();
        c.processed(20_000, 10_000);
        assertFalse(c.caughtUp(20_100));

        // When it processes one written at most MAX_LAG_MS ago / Then it is caught up
        c.processed(20_200, 20_200 - CatchUp.MAX_LAG_MS);
        assertTrue(c.caughtUp(20_200));
        assertFalse(c.caughtUp(20_201));
    }

    @Test
    void afterReplayingABacklogTheTaskIsCaughtUpOnceNothingMoreArrivesForTheIdleTime() {
        CatchUp c = new CatchUp();
        c.processed(30_000, 1_000);
        assertFalse(c.caughtUp(30_000 + CatchUp.IDLE_MS - 1));
        assertTrue(c.caughtUp(30_000 + CatchUp.IDLE_MS));
    }
}
