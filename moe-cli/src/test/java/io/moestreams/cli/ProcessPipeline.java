package io.moestreams.cli;

import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.embedded.SharedStack;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Test support: the gateway and expert workers as separate OS processes ({@code moe gateway}, {@code moe expert}) on
 * the shared embedded broker and registry, each with its own topics, so a test can SIGKILL and restart them.
 */
final class ProcessPipeline implements AutoCloseable {

    private static final AtomicInteger RUN = new AtomicInteger();

    /** A result as it reached the results topic: when ({@link System#nanoTime}), which expert, which worker. */
    record SeenResult(long atNanos, String requestId, int expert, String workerId) {}

    final EmbeddedStack stack = SharedStack.get();
    final Topics topics;
    private final Path dir;
    private final Map<String, String> common = new LinkedHashMap<>();
    private final List<ChildProcess> children = new ArrayList<>();
    private final List<AutoCloseable> closeFirst = new ArrayList<>();
    private final List<SeenResult> results = Collections.synchronizedList(new ArrayList<>());
    private final String suffix;
    private Thread resultWatcher;
    private volatile KafkaConsumer<String, ExpertResult> watcherConsumer;

    ProcessPipeline(Path dir, Path modelDir, Map<String, String> settings) {
        this.dir = dir;
        this.suffix =
                "chaos" + RUN.incrementAndGet() + "-" + ProcessHandle.current().pid();
        this.topics = new Topics(suffix + ".");
        common.put("MOE_BOOTSTRAP_SERVERS", stack.bootstrapServers());
        common.put("MOE_SCHEMA_REGISTRY_URL", stack.schemaRegistryUrl());
        common.put("MOE_TOPIC_PREFIX", topics.prefix());
        common.put("MOE_MODEL_DIR", modelDir.toString());
        common.put("MOE_EXPERT_GROUP_PREFIX", "ex-" + suffix + "-");
        settings.forEach((k, v) -> common.put(k.toUpperCase().replace('.', '_').replace('-', '_'), v));
    }

    /** Starts {@code moe gateway} with a state directory and instance id that survive its restarts. */
    ChildProcess startGateway() {
        Map<String, String> env = new LinkedHashMap<>(common);
        env.put("MOE_GATEWAY_APPLICATION_ID", "gw-" + suffix);
        env.put("MOE_GATEWAY_STATE_DIR", dir.resolve("gateway-state").toString());
        env.put("MOE_GATEWAY_INSTANCE_ID", "gateway-0");
        return start("gateway", List.of("gateway"), env);
    }

    /** Starts {@code moe expert --experts <experts>} with a stable worker id (static membership). */
    ChildProcess startExperts(String workerId, String experts) {
        Map<String, String> env = new LinkedHashMap<>(common);
        env.put("MOE_EXPERT_EXPERTS", experts);
        env.put("MOE_EXPERT_WORKER_ID", workerId);
        return start("expert-" + workerId, List.of("expert"), env);
    }

    private synchronized ChildProcess start(String name, List<String> args, Map<String, String> env) {
        ChildProcess p = ChildProcess.start(
                name,
                List.of(
                        "-Xmx512m",
                        "-XX:+UseSerialGC",
                        "-XX:TieredStopAtLevel=1",
                        "-Dorg.slf4j.simpleLogger.log.io.moestreams.gateway.CombinerProcessor=debug"),
                args,
                env,
                logs());
        children.add(p);
        return p;
    }

    Path logs() {
        return Path.of("target", "chaos-logs", suffix);
    }

    LoadClient client() {
        return new LoadClient(stack.bootstrapServers(), stack.schemaRegistryUrl(), topics, Map.of());
    }

    /** Records every expert result as it reaches the results topic (read_uncommitted: as soon as it is appended). */
    void watchResults() {
        TypedTopics typed = new TypedTopics(topics, new SchemaRegistryClient(stack.schemaRegistryUrl()));
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
        KafkaConsumer<String, ExpertResult> c = new KafkaConsumer<>(
                p, new StringDeserializer(), typed.expertResults().valueSerde().deserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (PartitionInfo pi : c.partitionsFor(topics.expertResults(), Duration.ofSeconds(30))) {
            parts.add(new TopicPartition(pi.topic(), pi.partition()));
        }
        c.assign(parts);
        c.seekToEnd(parts);
        parts.forEach(c::position);
        watcherConsumer = c;
        resultWatcher = new Thread(
                () -> {
                    try {
                        while (true) {
                            for (ConsumerRecord<String, ExpertResult> r : c.poll(Duration.ofMillis(200))) {
                                long now = System.nanoTime();
                                ExpertResult v = r.value();
                                results.add(new SeenResult(
                                        now,
                                        v.getRequestId(),
                                        v.getExpert(),
                                        v.getWorkerId().toString()));
                            }
                        }
                    } catch (WakeupException e) {
                        // closing
                    } finally {
                        c.close();
                    }
                },
                "chaos-result-watcher");
        resultWatcher.setDaemon(true);
        resultWatcher.start();
    }

    List<SeenResult> results() {
        synchronized (results) {
            return List.copyOf(results);
        }
    }

    /** Every committed response on the responses topic, from the beginning to its current end. */
    List<InferenceResponse> allResponses() {
        TypedTopics typed = new TypedTopics(topics, new SchemaRegistryClient(stack.schemaRegistryUrl()));
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<InferenceResponse> out = new ArrayList<>();
        try (KafkaConsumer<String, InferenceResponse> c = new KafkaConsumer<>(
                p, new StringDeserializer(), typed.responses().valueSerde().deserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo pi : c.partitionsFor(topics.responses(), Duration.ofSeconds(30))) {
                parts.add(new TopicPartition(pi.topic(), pi.partition()));
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            while (!parts.stream().allMatch(tp -> c.position(tp) >= end.get(tp))) {
                for (ConsumerRecord<String, InferenceResponse> r : c.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                }
            }
        }
        return out;
    }

    /** Closes {@code c} first when the pipeline closes (e.g. a load generator still running after a failure). */
    synchronized void onClose(AutoCloseable c) {
        closeFirst.add(c);
    }

    @Override
    public synchronized void close() {
        for (AutoCloseable c : closeFirst) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort: the children are killed below regardless
            }
        }
        KafkaConsumer<String, ExpertResult> c = watcherConsumer;
        if (c != null) {
            c.wakeup();
        }
        for (ChildProcess p : children) {
            try {
                p.kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
