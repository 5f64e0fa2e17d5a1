package io.moestreams.gateway;

/**
 * Whether the combiner has worked through its input, judged from the records it processes: it is caught up when
 * the newest record it processed was written less than {@link #MAX_LAG_MS} ago, or when nothing has arrived for
 * {@link #IDLE_MS}. After a restart the combiner first replays a backlog of results; a deadline that passed while
 * it was down is enforced only once the backlog is processed, so a request whose results are already in the log is
 * answered from them (late, but OK) instead of TIMEOUT. A hold of {@link CombinerProcessor#DEADLINE_HOLD_MS} bounds
 * the wait (e.g. against a host whose clock runs behind). docs/architecture.md, "Crashes and recovery".
 */
final class CatchUp {

    static final long MAX_LAG_MS = 2_000;
    static final long IDLE_MS = 500;

    private long lastRecordTimestamp;
    private long lastProcessedAt;

    /** Starts behind: caught up once a fresh record is processed or nothing arrives for {@link #IDLE_MS}. */
    CatchUp(long startedAtMs) {
        this.lastRecordTimestamp = Long.MIN_VALUE / 2;
        this.lastProcessedAt = startedAtMs;
    }

    /** A record written at {@code recordTimestampMs} was processed at {@code nowMs}. */
    void processed(long nowMs, long recordTimestampMs) {
        lastRecordTimestamp = recordTimestampMs;
        lastProcessedAt = nowMs;
    }

    boolean caughtUp(long nowMs) {
        return nowMs - lastProcessedAt >= IDLE_MS || nowMs - lastRecordTimestamp <= MAX_LAG_MS;
    }
}
