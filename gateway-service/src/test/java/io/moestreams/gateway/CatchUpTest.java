package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CatchUpTest {

    @Test
    void aFreshlyStartedCombinerIsBehindUntilItSeesAFreshRecordOrNothingArrives() {
        // Given a combiner started at t=1000
        CatchUp c = new CatchUp(1_000);

        // Then it is behind at first, and caught up once nothing arrived for the idle time
        assertFalse(c.caughtUp(1_000));
        assertFalse(c.caughtUp(1_000 + CatchUp.IDLE_MS - 1));
        assertTrue(c.caughtUp(1_000 + CatchUp.IDLE_MS));
    }

    @Test
    void replayingOldRecordsIsBehindAndAFreshRecordIsCaughtUp() {
        // Given a combiner working through records written 10 s ago
        CatchUp c = new CatchUp(0);
        c.processed(20_000, 10_000);

        // Then it is behind while it keeps processing them
        assertFalse(c.caughtUp(20_100));

        // When it reaches records written just now / Then it is caught up
        c.processed(20_200, 20_190);
        assertTrue(c.caughtUp(20_250));
    }

    @Test
    void aRecordAtExactlyTheLagLimitCountsAsCaughtUp() {
        CatchUp c = new CatchUp(0);
        c.processed(5_000, 5_000 - CatchUp.MAX_LAG_MS);
        assertTrue(c.caughtUp(5_000));
        c.processed(5_001, 5_001 - CatchUp.MAX_LAG_MS - 1);
        assertFalse(c.caughtUp(5_001));
    }
}
