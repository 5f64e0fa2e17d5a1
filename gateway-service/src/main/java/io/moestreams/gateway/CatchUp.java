package io.moestreams.gateway;

import java.util.OptionalLong;

/**
 * Whether a combiner task has worked through its input. After a restart the combiner first replays a backlog of
 * manifests and results; a deadline that passed while it was down must be enforced only once that backlog is
 * processed, so a request whose results are already in the log is answered from them (late, but OK) instead of
 * TIMEOUT. The task is caught up when its consumer reports no records left to fetch on both input partitions
 * ({@link InputLag}), or when the newest record it processed was written less than {@link #MAX_LAG_MS} ago. A hold
 * of {@link CombinerProcessor#DEADLINE_HOLD_MS} bounds the wait where neither is known. docs/architecture.md,
 * "Crashes and recovery".
 */
final class CatchUp {

    static final long MAX_LAG_MS = 2_000;

    private final InputLag lag;
    private final String manifestsTopic;
    private final String resultsTopic;
    private final int partition;
    private long lastRecordTimestamp = Long.MIN_VALUE / 2;

    CatchUp(InputLag lag, String manifestsTopic, String resultsTopic, int partition) {
        this.lag = lag;
        this.manifestsTopic = manifestsTopic;
        this.resultsTopic = resultsTopic;
        this.partition = partition;
    }

    /** A record written at {@code recordTimestampMs} was processed. */
    void processed(long recordTimestampMs) {
        lastRecordTimestamp = Math.max(lastRecordTimestamp, recordTimestampMs);
    }

    boolean caughtUp(long nowMs) {
        if (nowMs - lastRecordTimestamp <= MAX_LAG_MS) {
            return true;
        }
        OptionalLong manifests = lag.lag(manifestsTopic, partition);
        OptionalLong results = lag.lag(resultsTopic, partition);
        return manifests.isPresent() && results.isPresent() && manifests.getAsLong() == 0 && results.getAsLong() == 0;
    }
}
