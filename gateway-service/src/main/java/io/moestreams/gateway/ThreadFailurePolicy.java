package io.moestreams.gateway;

import io.moestreams.schemas.SchemaRegistryException;
import java.time.Duration;
import java.util.function.LongSupplier;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the gateway does when a stream thread dies. A transient cause (the schema registry unreachable or
 * answering 5xx, a retriable Kafka error) replaces the thread after a backoff that doubles with each failure in a
 * row (1 s, 2 s, … 30 s) and resets after a minute without one; under exactly-once the thread's uncommitted work
 * is aborted and processed again, so nothing is lost or doubled. Anything else is a bug or a misconfiguration:
 * the application shuts down (liveness fails, the process exits) instead of failing in a loop.
 */
final class ThreadFailurePolicy {

    private static final Logger LOGGER = LoggerFactory.getLogger(ThreadFailurePolicy.class);

    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    static final Duration QUIET_RESET = Duration.ofMinutes(1);

    /** Waits; a test passes one that records instead. */
    interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    private final String name;
    private final LongSupplier clockMs;
    private final Sleeper sleeper;
    private int failuresInARow;
    private long lastFailureMs = Long.MIN_VALUE / 2;

    ThreadFailurePolicy(String name, LongSupplier clockMs, Sleeper sleeper) {
        this.name = name;
        this.clockMs = clockMs;
        this.sleeper = sleeper;
    }

    static ThreadFailurePolicy system(String name) {
        return new ThreadFailurePolicy(name, System::currentTimeMillis, d -> Thread.sleep(d.toMillis()));
    }

    static boolean isTransient(Throwable e) {
        if (SchemaRegistryException.isTransient(e)) {
            return true;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RetriableException) {
                return true;
            }
        }
        return false;
    }

    /** Runs on the dying stream thread: the backoff delays its replacement. */
    synchronized StreamThreadExceptionResponse onFailure(Throwable e) {
        if (!isTransient(e)) {
            LOGGER.error("A gateway {} stream thread failed with a non-transient error; shutting it down", name, e);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        long now = clockMs.getAsLong();
        failuresInARow = now - lastFailureMs > QUIET_RESET.toMillis() ? 1 : failuresInARow + 1;
        lastFailureMs = now;
        Duration backoff = backoff(failuresInARow);
        LOGGER.warn(
                "A gateway {} stream thread failed ({}); replacing it in {} ms (failure {} in a row)",
                name,
                e.toString(),
                backoff.toMillis(),
                failuresInARow);
        try {
            sleeper.sleep(backoff);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
        return StreamThreadExceptionResponse.REPLACE_THREAD;
    }

    static Duration backoff(int failuresInARow) {
        long ms = FIRST_BACKOFF.toMillis() << Math.min(30, Math.max(0, failuresInARow - 1));
        return Duration.ofMillis(Math.min(ms, MAX_BACKOFF.toMillis()));
    }
}
