package io.moestreams.gateway;

/**
 * Whether a combiner task has worked through its input. After a restart the combiner first replays a backlog of
 * manifests and results; a deadline that passed while it was down must be enforced only once that backlog is
 * processed, so a request whose results are already in the log is answered from them (late, but OK) instead of
 * TIMEOUT (docs/architecture.md, "Crashes and recovery").
 *
 * <p>The combiner runs with {@code max.task.idle.ms=0}: a task processes its two inputs in timestamp order and does
 * not go past the end of one input's buffer while that partition still has records on the broker. So once it has
 * processed a record written less than {@link #MAX_LAG_MS} ago, every older record of both inputs is behind it:
 * caught up. Without traffic the backlog ends and nothing more arrives: caught up after {@link #IDLE_MS} without a
 * record, provided it processed something since it started. A task that has processed nothing at all cannot tell an
 * empty backlog from a fetch still under way; there the deadline hold ({@link CombinerProcessor#DEADLINE_HOLD_MS})
 * decides.
 */
final class CatchUp {

    static final long MAX_LAG_MS = 2_000;
    static final long IDLE_MS = 500;

    private long newestRecordTimestamp = Long.MIN_VALUE / 2;
    private long lastProcessedAt = Long.MIN_VALUE / 2;
    private boolean processedAny;

    /** A record written at {@code recordTimestampMs} was processed at {@code nowMs}. */
    void processed(long nowMs, long recordTimestampMs) {
        newestRecordTimestamp = Math.max(newestRecordTimestamp, recordTimestampMs);
        lastProcessedAt = nowMs;
        processedAny = true;
    }

    boolean caughtUp(long nowMs) {
        return nowMs - newestRecordTimestamp <= MAX_LAG_MS || (processedAny && nowMs - lastProcessedAt >= IDLE_MS);
    }
}
