package io.moestreams.cli;

import java.io.PrintStream;
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
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The latency floor of the pipeline's hop structure on the broker it runs on, measured with bare Kafka clients: no
 * model, no Kafka Streams, no Avro, each hop a thread that copies the record on (docs/architecture.md, "Delivery
 * guarantees per hop", and the README's "Where the floor is").
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

    private final String bootstrap;
    private final String prefix;
    private final Map<String, Object> clientProps;

    /**
     * @param bootstrap   the cluster
     * @param prefix      prefix of the topics, consumer groups and transactional ids it creates
     * @param clientProps Kafka client properties for every client (security), passed through unchanged
     */
    KafkaFloor(String bootstrap, String prefix, Map<String, Object> clientProps) {
        this.bootstrap = bootstrap;
        this.prefix = prefix;
        this.clientProps = Map.copyOf(clientProps);
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
            hops.exactlyOnce(topic("in"), topic("a"), "x");
            hops.committedRelay(topic("a"), topic("b"), "r");
            hops.exactlyOnce(topic("b"), topic("out"), "y");
            asPipeline = closedLoop("floor, as pipeline", "in", "out", load);
        }
        long[] oneHop;
        try (Hops hops = new Hops(commits)) {
            hops.exactlyOnce(topic("in1"), topic("out1"), "z");
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
        Map<String, Object> p = new HashMap<>(clientProps);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
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
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(consumerProps(null, "read_committed"));
                KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps(null))) {
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

    private Map<String, Object> consumerProps(String group, String isolation) {
        Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return p;
    }

    private Map<String, Object> producerProps(String transactionalId) {
        Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        if (transactionalId != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return p;
    }

    /** The hop threads of one chain; closing stops and joins them and rethrows the first failure. */
    private final class Hops implements AutoCloseable {

        private final List<Long> commits;
        private final List<Thread> threads = new ArrayList<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Throwable> failures = new ArrayList<>();

        Hops(List<Long> commits) {
            this.commits = commits;
        }

        /** Consume, produce and commit the consumed offsets in one transaction per poll. */
        void exactlyOnce(String in, String out, String name) {
            String group = prefix + "hop-" + name;
            start(name, () -> {
                try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(consumerProps(group, "read_committed"));
                        KafkaProducer<String, byte[]> p = new KafkaProducer<>(producerProps(group))) {
                    p.initTransactions();
                    c.subscribe(List.of(in));
                    while (running.get()) {
                        ConsumerRecords<String, byte[]> records = c.poll(POLL);
                        if (records.isEmpty()) {
                            continue;
                        }
                        p.beginTransaction();
                        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                        for (ConsumerRecord<String, byte[]> r : records) {
                            p.send(new ProducerRecord<>(out, r.key(), r.value()));
                            offsets.put(
                                    new TopicPartition(r.topic(), r.partition()),
                                    new OffsetAndMetadata(r.offset() + 1));
                        }
                        long t0 = System.nanoTime();
                        p.sendOffsetsToTransaction(offsets, c.groupMetadata());
                        p.commitTransaction();
                        long took = System.nanoTime() - t0;
                        synchronized (commits) {
                            commits.add(took);
                        }
                    }
                }
            });
        }

        /** Read committed records, forward them with an idempotent producer, commit offsets once they are acked. */
        void committedRelay(String in, String out, String name) {
            String group = prefix + "hop-" + name;
            start(name, () -> {
                try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(consumerProps(group, "read_committed"));
                        KafkaProducer<String, byte[]> p = new KafkaProducer<>(producerProps(null))) {
                    c.subscribe(List.of(in));
                    while (running.get()) {
                        ConsumerRecords<String, byte[]> records = c.poll(POLL);
                        if (records.isEmpty()) {
                            continue;
                        }
                        for (ConsumerRecord<String, byte[]> r : records) {
                            p.send(new ProducerRecord<>(out, r.key(), r.value()));
                        }
                        p.flush();
                        c.commitAsync();
                    }
                }
            });
        }

        private void start(String name, Runnable body) {
            Thread t = new Thread(
                    () -> {
                        try {
                            body.run();
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
