package io.moestreams.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The latency floor of the pipeline's hop structure on the broker it runs on, measured with bare Kafka clients: no
 * model, no Kafka Streams, no Avro, each hop a {@link FloorHop} that copies the record on, as a thread of this JVM or
 * as a process of its own (docs/architecture.md, "Delivery guarantees per hop", and the README's "Where the floor
 * is").
 *
 * <p>Two chains, each driven one request at a time by a client that sends and waits for its own record back:
 *
 * <ul>
 *   <li><b>as the pipeline</b>: client → exactly-once hop (consume, produce and commit the offsets in one
 *       transaction, commit after every record: the intake with eager commits) → a plain hop that reads
 *       {@code read_committed} and forwards with an idempotent producer (the combiner waiting for the intake's
 *       committed manifest, and the at-least-once expert hop) → exactly-once hop (the combiner) → client reading
 *       {@code read_committed}. Two transaction commits lie on the path, as in the pipeline;
 *   <li><b>one exactly-once hop</b>: client → exactly-once hop → client ({@code read_committed}), the least any
 *       exactly-once response costs.
 * </ul>
 */
final class KafkaFloor {

    /** Closed-loop latencies of both chains and the commit times of their exactly-once hops, in nanoseconds. */
    record Result(long[] asPipelineNanos, long[] oneHopNanos, long[] commitNanos) {}

    private static final Duration POLL = Duration.ofMillis(100);

    private final FloorHop.Clients clients;
    private final String prefix;
    private final Path processLogs;

    /**
     * @param bootstrap   the cluster
     * @param prefix      prefix of the topics, consumer groups and transactional ids it creates
     * @param clientProps Kafka client properties for the clients of this JVM (security), passed through unchanged
     * @param processLogs null: the hops are threads of this JVM; else each hop runs in a JVM of its own (as the
     *                    services do with {@code --processes}), logging there; their commit times are then not seen
     */
    KafkaFloor(String bootstrap, String prefix, Map<String, Object> clientProps, Path processLogs) {
        this.clients = new FloorHop.Clients(bootstrap, clientProps);
        this.prefix = prefix;
        this.processLogs = processLogs;
    }

    /**
     * Runs both chains with {@code requests} records of {@code payloadBytes} each, after {@code warmUp} untimed ones
     * per chain (the JIT of a freshly started broker and clients takes a few hundred round trips to settle).
     */
    Result measure(int payloadBytes, int warmUp, int requests, PrintStream progress) throws Exception {
        createTopics(List.of("in", "a", "b", "out", "in1", "out1"));
        List<Long> commits = new ArrayList<>();
        Load load = new Load(payloadBytes, warmUp, requests, progress);
        long[] asPipeline;
        try (Hops hops = new Hops(commits)) {
            hops.add(FloorHop.Kind.EXACTLY_ONCE, topic("in"), topic("a"), "x");
            hops.add(FloorHop.Kind.COMMITTED_RELAY, topic("a"), topic("b"), "r");
            hops.add(FloorHop.Kind.EXACTLY_ONCE, topic("b"), topic("out"), "y");
            asPipeline = closedLoop("floor, as pipeline", "in", "out", load);
        }
        long[] oneHop;
        try (Hops hops = new Hops(commits)) {
            hops.add(FloorHop.Kind.EXACTLY_ONCE, topic("in1"), topic("out1"), "z");
            oneHop = closedLoop("floor, one hop", "in1", "out1", load);
        }
        long[] c;
        synchronized (commits) {
            c = commits.stream().mapToLong(Long::longValue).toArray();
        }
        return new Result(asPipeline, oneHop, c);
    }

    private String topic(String name) {
        return prefix + name;
    }

    private void createTopics(List<String> names) throws InterruptedException, ExecutionException, TimeoutException {
        Map<String, Object> p = new HashMap<>(clients.props());
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, clients.bootstrap());
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> topics = new ArrayList<>();
            for (String n : names) {
                topics.add(new NewTopic(topic(n), 1, (short) -1));
            }
            admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
        }
    }

    /** What the client sends through a chain: payload size, untimed and timed requests, where progress goes. */
    private record Load(int payloadBytes, int warmUp, int requests, PrintStream progress) {}

    private long[] closedLoop(String label, String inName, String outName, Load load) throws Exception {
        String in = topic(inName);
        String out = topic(outName);
        int requests = load.requests();
        ProgressBar bar = new ProgressBar(load.progress(), label, requests);
        byte[] payload = new byte[load.payloadBytes()];
        long[] latencies = new long[requests];
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(clients.consumer(null, "read_committed"));
                KafkaProducer<String, byte[]> producer = new KafkaProducer<>(clients.producer(null))) {
            TopicPartition tp = new TopicPartition(out, 0);
            consumer.assign(List.of(tp));
            consumer.seekToEnd(List.of(tp));
            consumer.position(tp);
            for (int i = -load.warmUp(); i < requests; i++) {
                String id = Integer.toString(i);
                long t0 = System.nanoTime();
                producer.send(new ProducerRecord<>(in, id, payload)).get(30, TimeUnit.SECONDS);
                awaitRecord(consumer, id, t0);
                if (i >= 0) {
                    latencies[i] = System.nanoTime() - t0;
                    bar.update(i + 1);
                }
            }
        }
        return latencies;
    }

    /** Waits for the record keyed {@code id}; any other record means a request came back twice or out of order. */
    private static void awaitRecord(KafkaConsumer<String, byte[]> consumer, String id, long t0) {
        while (true) {
            ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
            for (ConsumerRecord<String, byte[]> r : records) {
                if (!r.key().equals(id) || records.count() > 1) {
                    throw new IllegalStateException("floor chain returned record " + r.key() + " (" + records.count()
                            + " at once) while waiting for " + id + ": a hop lost or duplicated a record");
                }
            }
            if (!records.isEmpty()) {
                return;
            }
            if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(30)) {
                throw new IllegalStateException("floor chain: record " + id + " did not come back within 30 s");
            }
        }
    }

    /**
     * The hops of one chain, as threads of this JVM or (with a log directory) each in a process of its own; closing
     * stops them and rethrows the first failure of a thread.
     */
    private final class Hops implements AutoCloseable {

        private final List<Long> commits;
        private final List<Thread> threads = new ArrayList<>();
        private final List<ChildProcess> children = new ArrayList<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Throwable> failures = new ArrayList<>();

        Hops(List<Long> commits) {
            this.commits = commits;
        }

        void add(FloorHop.Kind kind, String in, String out, String name) {
            String group = prefix + "hop-" + name;
            if (processLogs != null) {
                children.add(ChildProcess.start(
                        "floor-hop-" + name,
                        List.of("-Xmx256m", "-XX:+UseParallelGC"),
                        List.of(
                                "floor-hop",
                                "--kind=" + kind,
                                "--bootstrap-servers=" + clients.bootstrap(),
                                "--in=" + in,
                                "--out=" + out,
                                "--group=" + group),
                        Map.of(),
                        processLogs));
                return;
            }
            FloorHop hop = new FloorHop(clients, in, out, group);
            Thread t = new Thread(
                    () -> {
                        try {
                            hop.run(kind, running::get, nanos -> {
                                synchronized (commits) {
                                    commits.add(nanos);
                                }
                            });
                        } catch (RuntimeException e) {
                            synchronized (failures) {
                                failures.add(e);
                            }
                        }
                    },
                    "floor-" + name);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }

        @Override
        public void close() {
            running.set(false);
            children.forEach(ChildProcess::close);
            for (Thread t : threads) {
                try {
                    t.join(TimeUnit.SECONDS.toMillis(30));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while stopping the floor hops", e);
                }
            }
            synchronized (failures) {
                if (!failures.isEmpty()) {
                    throw new IllegalStateException("a floor hop failed", failures.get(0));
                }
            }
        }
    }
}
