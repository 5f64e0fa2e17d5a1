package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.expert.ExpertConfig;
import io.moestreams.expert.ExpertService;
import io.moestreams.gateway.GatewayApp;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.config.LayeredConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flow control across gateway replicas: two gateway instances of one application share the per-expert credit, judged
 * from Kafka's offsets. An independent observer measures every expert's in-flight tokens from the topics themselves
 * (tokens of the blocks between the group's committed offset and the end of the log).
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ClusterFlowControlIT {

    private static final int HIDDEN = 16;
    private static final int EXPERTS = 4;
    private static final int TOKENS = 16;
    private static final int REQUESTS = 400;
    private static final long CREDIT = 600;
    private static final long REFRESH_MS = 50;
    private static final int MAX_POLL_RECORDS = 5;
    private static final int GATEWAYS = 2;

    @Test
    void twoGatewaysUnderFiveTimesOverloadShareOneCreditAndAnswerEverything(@TempDir Path dir) throws Exception {
        // Given two gateway instances of one application with a 600-token credit per expert, and no expert yet
        PipelineHarness h = new PipelineHarness();
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model,
                "mixtral",
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "silu",
                null,
                "none",
                HIDDEN,
                32,
                EXPERTS,
                31);
        // 400 requests x 16 tokens x top-2 = 3200 tokens per expert on average: 5.3 x the credit
        List<RequestLine> lines = PipelineHarness.requests(dir, REQUESTS, HIDDEN, TOKENS, TOKENS, 32);
        String groupPrefix = "ex-cfc" + h.run + "-";
        List<GatewayApp> gateways = new ArrayList<>();
        List<SimpleMeterRegistry> meters = new ArrayList<>();
        List<ExpertService> experts = new ArrayList<>();
        Observer observer = new Observer(h, groupPrefix);
        try (InferenceClient client = h.client()) {
            for (int i = 0; i < GATEWAYS; i++) {
                SimpleMeterRegistry m = new SimpleMeterRegistry();
                meters.add(m);
                gateways.add(GatewayApp.start(gatewayConfig(h, model, dir, i, groupPrefix), m));
            }
            for (GatewayApp g : gateways) {
                assertTrue(g.awaitRunning(Duration.ofSeconds(120)), "gateway running");
            }
            observer.start();
            CompletableFuture<Map<String, InferenceClient.Answer>> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(240), n -> {});
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            // When the requests pile up, both instances pause their intake...
            PipelineHarness.awaitCondition(
                    () -> gateways.stream().allMatch(GatewayApp::throttling),
                    Duration.ofSeconds(90),
                    "both gateways throttle");
            for (SimpleMeterRegistry m : meters) {
                assertEquals(1.0, m.get("moe.gateway.throttled").gauge().value());
            }
            // ...and, for 3 s in which nobody serves, take in nothing more: the backlog stays in Kafka
            double acceptedBefore = accepted(meters);
            observer.awaitSamples(60);
            double acceptedAfter = accepted(meters);
            assertTrue(
                    acceptedAfter - acceptedBefore <= GATEWAYS * MAX_POLL_RECORDS,
                    "intake kept taking requests while paused: " + acceptedBefore + " -> " + acceptedAfter);
            assertTrue(acceptedAfter < REQUESTS / 2.0, "most requests wait in Kafka: " + acceptedAfter + " taken in");

            // Then a single expert process ("too few") drains them, every request is answered, none dropped
            Map<String, String> e = new LinkedHashMap<>();
            e.put("moe.bootstrap-servers", h.stack.bootstrapServers());
            e.put("moe.schema-registry-url", h.stack.schemaRegistryUrl());
            e.put("moe.topic-prefix", h.topics.prefix());
            e.put("moe.model-dir", model.toString());
            e.put(ExpertConfig.GROUP_PREFIX, groupPrefix);
            e.put(ExpertConfig.EXPERTS, "0-" + (EXPERTS - 1));
            e.put(ExpertConfig.WORKER_ID, "cfc-" + h.run);
            experts.add(ExpertService.start(
                    ExpertConfig.from(LayeredConfig.load(ExpertConfig.defaults(), null, Map.of(), e)),
                    new SimpleMeterRegistry()));
            Map<String, InferenceClient.Answer> answers = run.get(240, TimeUnit.SECONDS);
            assertEquals(REQUESTS, answers.size());
            for (RequestLine l : lines) {
                assertEquals("OK", answers.get(l.id()).response().getStatus().name(), l.id());
            }
            for (int i = 0; i < meters.size(); i++) {
                double events = meters.get(i).get("moe.gateway.throttle.events").counters().stream()
                        .mapToDouble(c -> c.count())
                        .sum();
                System.out.printf(
                        "ClusterFlowControlIT gateway %d: %.0f throttle events, intake paused %.1f s%n",
                        i, events, gateways.get(i).throttledNanos() / 1e9);
                assertTrue(events >= 1, "gateway " + i + " throttled");
            }

            // And no expert ever had more in flight than the credit plus the documented margin: what the other
            // instance can dispatch between two snapshots, plus what each instance processes before its pause
            // takes effect, plus the error of converting records to tokens by the mean block size
            long queryMs = gateways.stream()
                    .mapToLong(g -> g.cluster().lastQueryMs())
                    .max()
                    .orElse(0);
            long window = REFRESH_MS + Math.max(queryMs, observer.maxQueryMs());
            long pauseLatency = (long) GATEWAYS * MAX_POLL_RECORDS * TOKENS * 2;
            for (int x = 0; x < EXPERTS; x++) {
                long margin = observer.maxDispatchedWithin(x, window) + pauseLatency + CREDIT / 10;
                long peak = observer.peak(x);
                System.out.printf(
                        "ClusterFlowControlIT expert %d: peak in flight %d tokens, credit %d, margin %d"
                                + " (dispatch within %d ms: %d), dispatched in all %d%n",
                        x,
                        peak,
                        CREDIT,
                        margin,
                        window,
                        observer.maxDispatchedWithin(x, window),
                        observer.dispatched(x));
                assertTrue(peak <= CREDIT + margin, "expert " + x + ": peak " + peak + " > " + CREDIT + " + " + margin);
                // two gateways each granting the full credit could reach twice the credit: the shared credit did not
                // (the margin itself grows with the Admin query time, which a loaded machine stretches)
                assertTrue(peak < GATEWAYS * CREDIT, "expert " + x + ": peak " + peak + " reached two grants");
                assertTrue(observer.dispatched(x) > 4 * CREDIT, "the load was " + observer.dispatched(x));
            }
        } finally {
            observer.close();
            experts.forEach(ExpertService::close);
            gateways.forEach(GatewayApp::close);
        }
    }

    private static double accepted(List<SimpleMeterRegistry> meters) {
        double sum = 0;
        for (SimpleMeterRegistry m : meters) {
            sum += m.get("moe.gateway.requests")
                    .tag("outcome", "accepted")
                    .counter()
                    .count();
        }
        return sum;
    }

    private static GatewayConfig gatewayConfig(PipelineHarness h, Path model, Path dir, int i, String groupPrefix) {
        Map<String, String> g = new LinkedHashMap<>();
        g.put("moe.bootstrap-servers", h.stack.bootstrapServers());
        g.put("moe.schema-registry-url", h.stack.schemaRegistryUrl());
        g.put("moe.topic-prefix", h.topics.prefix());
        g.put("moe.model-dir", model.toString());
        g.put(GatewayConfig.APPLICATION_ID, "gw-cfc" + h.run);
        g.put(GatewayConfig.STATE_DIR, dir.resolve("state-" + i).toString());
        g.put(GatewayConfig.INSTANCE_ID, "gw-" + i);
        g.put(GatewayConfig.EXPERT_GROUP_PREFIX, groupPrefix);
        g.put(GatewayConfig.INFLIGHT_CREDIT, Long.toString(CREDIT));
        g.put(GatewayConfig.FLOW_REFRESH_MS, Long.toString(REFRESH_MS));
        g.put(GatewayConfig.DEFAULT_TIMEOUT_MS, "240000");
        g.put("max.poll.records", Integer.toString(MAX_POLL_RECORDS));
        return GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), null, Map.of(), g));
    }

    /**
     * Measures in-flight tokens per expert from Kafka alone: a consumer reads every dispatch block (tokens per offset,
     * append time), and every 50 ms a sample takes the end offsets and the expert groups' committed offsets, waits
     * until the consumer has read up to those ends and sums the tokens between committed and end.
     */
    private static final class Observer implements AutoCloseable {
        private final PipelineHarness h;
        private final String groupPrefix;
        private final Map<TopicPartition, Map<Long, Integer>> tokensAt = new ConcurrentHashMap<>();
        private final Map<TopicPartition, Long> position = new ConcurrentHashMap<>();
        private final List<long[]> appended = Collections.synchronizedList(new ArrayList<>());
        private final long[] peaks = new long[EXPERTS];
        private final AtomicBoolean running = new AtomicBoolean(true);
        private volatile int samples;
        private volatile long maxQueryMs;
        private Thread reader;
        private Thread sampler;

        Observer(PipelineHarness h, String groupPrefix) {
            this.h = h;
            this.groupPrefix = groupPrefix;
        }

        void start() {
            TypedTopics typed = new TypedTopics(h.topics, new SchemaRegistryClient(h.stack.schemaRegistryUrl()));
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, h.stack.bootstrapServers());
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
            KafkaConsumer<String, DispatchBlock> c = new KafkaConsumer<>(
                    p, new StringDeserializer(), typed.expert(0).valueSerde().deserializer());
            List<TopicPartition> parts = new ArrayList<>();
            for (int x = 0; x < EXPERTS; x++) {
                for (PartitionInfo pi : c.partitionsFor(h.topics.expert(x), Duration.ofSeconds(30))) {
                    parts.add(new TopicPartition(pi.topic(), pi.partition()));
                }
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            reader = new Thread(
                    () -> {
                        try (c) {
                            while (running.get()) {
                                for (ConsumerRecord<String, DispatchBlock> r : c.poll(Duration.ofMillis(50))) {
                                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                                    int n = r.value().getPositions().size();
                                    tokensAt.computeIfAbsent(tp, k -> new ConcurrentHashMap<>())
                                            .put(r.offset(), n);
                                    appended.add(new long[] {
                                        h.topics.expertOf(r.topic()).getAsInt(), r.timestamp(), n
                                    });
                                }
                                for (TopicPartition tp : parts) {
                                    position.put(tp, c.position(tp));
                                }
                            }
                        }
                    },
                    "cfc-observer-reader");
            reader.start();
            sampler = new Thread(this::sample, "cfc-observer-sampler");
            sampler.start();
        }

        private void sample() {
            try (Admin admin =
                    Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, h.stack.bootstrapServers()))) {
                while (running.get()) {
                    long t0 = System.nanoTime();
                    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
                    for (TopicPartition tp : position.keySet()) {
                        latest.put(tp, OffsetSpec.latest());
                    }
                    if (latest.isEmpty()) {
                        TimeUnit.MILLISECONDS.sleep(50); // the reader has not been assigned yet
                        continue;
                    }
                    Map<TopicPartition, Long> ends = new HashMap<>();
                    admin.listOffsets(latest).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
                    Map<TopicPartition, Long> committed = new HashMap<>();
                    for (int x = 0; x < EXPERTS; x++) {
                        Map<TopicPartition, OffsetAndMetadata> c = admin.listConsumerGroupOffsets(groupPrefix + x)
                                .partitionsToOffsetAndMetadata()
                                .get();
                        c.forEach((tp, om) -> {
                            if (om != null) {
                                committed.put(tp, om.offset());
                            }
                        });
                    }
                    maxQueryMs = Math.max(maxQueryMs, (System.nanoTime() - t0) / 1_000_000);
                    long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (ends.entrySet().stream()
                                    .anyMatch(en -> position.getOrDefault(en.getKey(), 0L) < en.getValue())
                            && System.nanoTime() < waitUntil) {
                        TimeUnit.MILLISECONDS.sleep(5); // the reader catches up with the sampled ends
                    }
                    long[] inFlight = new long[EXPERTS];
                    for (Map.Entry<TopicPartition, Long> en : ends.entrySet()) {
                        int x = h.topics.expertOf(en.getKey().topic()).getAsInt();
                        Map<Long, Integer> tokens = tokensAt.getOrDefault(en.getKey(), Map.of());
                        for (long o = committed.getOrDefault(en.getKey(), 0L); o < en.getValue(); o++) {
                            inFlight[x] += tokens.getOrDefault(o, 0);
                        }
                    }
                    synchronized (peaks) {
                        for (int x = 0; x < EXPERTS; x++) {
                            peaks[x] = Math.max(peaks[x], inFlight[x]);
                        }
                    }
                    samples++;
                    TimeUnit.MILLISECONDS.sleep(50);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        /** Waits for {@code n} more samples (about 50 ms each). */
        void awaitSamples(int n) throws InterruptedException {
            int target = samples + n;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (samples < target && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(20);
            }
        }

        long peak(int expert) {
            synchronized (peaks) {
                return peaks[expert];
            }
        }

        long maxQueryMs() {
            return maxQueryMs;
        }

        long dispatched(int expert) {
            synchronized (appended) {
                return appended.stream()
                        .filter(a -> a[0] == expert)
                        .mapToLong(a -> a[2])
                        .sum();
            }
        }

        /** The most tokens appended to {@code expert}'s topic within any interval of {@code windowMs}. */
        long maxDispatchedWithin(int expert, long windowMs) {
            List<long[]> mine;
            synchronized (appended) {
                mine = appended.stream()
                        .filter(a -> a[0] == expert)
                        .sorted((a, b) -> Long.compare(a[1], b[1]))
                        .toList();
            }
            long best = 0;
            long sum = 0;
            int from = 0;
            for (int to = 0; to < mine.size(); to++) {
                sum += mine.get(to)[2];
                while (mine.get(to)[1] - mine.get(from)[1] > windowMs) {
                    sum -= mine.get(from)[2];
                    from++;
                }
                best = Math.max(best, sum);
            }
            return best;
        }

        @Override
        public void close() {
            running.set(false);
            try {
                if (reader != null) {
                    reader.join(5000);
                }
                if (sampler != null) {
                    sampler.join(5000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
