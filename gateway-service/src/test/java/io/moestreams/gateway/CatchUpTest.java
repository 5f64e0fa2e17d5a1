package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class CatchUpTest {

    private final Map<String, Long> lags = new HashMap<>();
    private final InputLag lag = (topic, partition) -> lags.containsKey(topic + "-" + partition)
            ? OptionalLong.of(lags.get(topic + "-" + partition))
            : OptionalLong.empty();

    @Test
    void aRestartedCombinerIsBehindUntilItsConsumerReportsNothingLeftOnBothInputs() {
        // Given a combiner of partition 2 that has processed nothing and whose consumer has not fetched yet
        CatchUp c = new CatchUp(lag, "m", "r", 2);

        // Then it is behind, also when only one input is known to be caught up
        assertFalse(c.caughtUp(10_000));
        lags.put("m-2", 0L);
        assertFalse(c.caughtUp(10_000));
        lags.put("r-2", 7L);
        assertFalse(c.caughtUp(10_000));

        // When both inputs report no lag / Then it is caught up
        lags.put("r-2", 0L);
        assertTrue(c.caughtUp(10_000));
    }

    @Test
    void aFreshlyWrittenRecordMeansCaughtUpWhateverTheMetrics() {
        // Given a combiner replaying records written 10 s ago
        CatchUp c = new CatchUp(lag, "m", "r", 0);
        c.processed(10_000);
        assertFalse(c.caughtUp(20_000));

        // When it processes one written at most MAX_LAG_MS ago / Then it is caught up
        c.processed(20_000 - CatchUp.MAX_LAG_MS);
        assertTrue(c.caughtUp(20_000));
        assertFalse(c.caughtUp(20_001));
    }
}
