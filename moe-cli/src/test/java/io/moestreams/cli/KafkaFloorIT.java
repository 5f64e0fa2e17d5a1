package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.embedded.SharedStack;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka floor of {@code moe bench --pipeline} on the real embedded broker: every request travels both chains and
 * comes back exactly once, and the hops it counts as exactly-once really commit a transaction per request (the
 * figures themselves mean nothing here).
 */
@Tag("integration")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class KafkaFloorIT {

    private static final int REQUESTS = 20;
    private static final int WARM_UP = 5;

    @Test
    void everyRequestCrossesBothChainsOnceAndEachExactlyOnceHopCommitsATransactionPerRequest() throws Exception {
        // Given the embedded broker and a fresh prefix
        EmbeddedStack stack = SharedStack.get();
        String prefix = "floorit" + System.nanoTime() + ".";

        // When the floor is measured with 20 requests of 1 KB after 5 untimed ones
        KafkaFloor.Result result = measure(stack, prefix, null);

        // Then both chains timed every request
        assertBothChainsTimedEveryRequest(result);
        // and three exactly-once hops (two on the pipeline-shaped chain, one alone) committed once per request,
        // the warm-up requests included: the client sends the next request only after the last one came back
        assertEquals(3 * (REQUESTS + WARM_UP), result.commitNanos().length);
        // and each output topic holds every request exactly once, committed (read_committed sees all of them)
        assertEachOutputHoldsEveryRequestOnce(stack.bootstrapServers(), prefix);
    }

    @Test
    void withEveryHopInAProcessOfItsOwnEveryRequestStillCrossesBothChainsOnce(@TempDir Path logs) throws Exception {
        // Given the embedded broker, a fresh prefix and the hops as separate JVMs (as with --processes)
        EmbeddedStack stack = SharedStack.get();
        String prefix = "floorprocit" + System.nanoTime() + ".";

        // When the floor is measured
        KafkaFloor.Result result = measure(stack, prefix, logs);

        // Then both chains timed every request, each hop ran in its own process (its log exists), and the commits
        // of other processes are not reported as if they were seen
        assertBothChainsTimedEveryRequest(result);
        assertEquals(0, result.commitNanos().length);
        for (String hop : List.of("x", "r", "y", "z")) {
            assertTrue(Files.exists(logs.resolve("floor-hop-" + hop + ".log")), hop);
        }
        // and each output topic holds every request exactly once, committed
        assertEachOutputHoldsEveryRequestOnce(stack.bootstrapServers(), prefix);
    }

    private static KafkaFloor.Result measure(EmbeddedStack stack, String prefix, Path logs) throws Exception {
        return new KafkaFloor(stack.bootstrapServers(), prefix, Map.of(), logs)
                .measure(
                        1024,
                        WARM_UP,
                        REQUESTS,
                        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    }

    private static void assertBothChainsTimedEveryRequest(KafkaFloor.Result result) {
        assertEquals(REQUESTS, result.asPipelineNanos().length);
        assertEquals(REQUESTS, result.oneHopNanos().length);
        for (long[] chain : List.of(result.asPipelineNanos(), result.oneHopNanos())) {
            for (long nanos : chain) {
                assertTrue(nanos > 0, "a measured round trip is positive");
            }
        }
    }

    private static void assertEachOutputHoldsEveryRequestOnce(String bootstrap, String prefix) {
        List<String> expected = new ArrayList<>();
        for (int i = -WARM_UP; i < REQUESTS; i++) {
            expected.add(Integer.toString(i));
        }
        for (String out : List.of("out", "out1")) {
            assertEquals(expected, committedKeys(bootstrap, prefix + out), out);
        }
    }

    private static List<String> committedKeys(String bootstrap, String topic) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        List<String> keys = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (c.position(tp) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    keys.add(r.key());
                }
            }
        }
        return keys;
    }
}
