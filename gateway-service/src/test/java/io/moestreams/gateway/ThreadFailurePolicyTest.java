package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moestreams.schemas.SchemaRegistryException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.junit.jupiter.api.Test;

class ThreadFailurePolicyTest {

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final List<Duration> slept = new ArrayList<>();
    private final ThreadFailurePolicy policy = new ThreadFailurePolicy("intake", now::get, slept::add);

    private static RuntimeException registryDown() {
        return new StreamsException(
                "schema registry unavailable",
                new SchemaRegistryException("get schema id 3", SchemaRegistryException.NO_RESPONSE, -1, null, null));
    }

    @Test
    void transientFailuresReplaceTheThreadAfterADoublingCappedBackoff() {
        // Given the registry failing again and again, a second apart
        for (int i = 0; i < 8; i++) {
            assertEquals(StreamThreadExceptionResponse.REPLACE_THREAD, policy.onFailure(registryDown()));
            now.addAndGet(1_000);
        }
        // Then the waits double from 1 s up to the 30 s cap
        assertEquals(
                List.of(1, 2, 4, 8, 16, 30, 30, 30),
                slept.stream().map(d -> (int) d.toSeconds()).toList());
    }

    @Test
    void aQuietMinuteResetsTheBackoff() {
        policy.onFailure(new StreamsException(new TimeoutException("broker slow")));
        policy.onFailure(registryDown());
        now.addAndGet(ThreadFailurePolicy.QUIET_RESET.toMillis() + 1);
        policy.onFailure(registryDown());
        assertEquals(
                List.of(1, 2, 1), slept.stream().map(d -> (int) d.toSeconds()).toList());
    }

    @Test
    void aNonTransientFailureShutsTheApplicationDownWithoutWaiting() {
        assertEquals(
                StreamThreadExceptionResponse.SHUTDOWN_CLIENT,
                policy.onFailure(new StreamsException(new IllegalStateException("a bug"))));
        assertEquals(List.of(), slept);
    }
}
