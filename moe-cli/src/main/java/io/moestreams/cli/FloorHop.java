package io.moestreams.cli;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
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
 * One hop of a {@link KafkaFloor} chain with bare Kafka clients: it copies every record of {@code in} to {@code out}
 * until {@code running} turns false, in a thread of the bench JVM or in a process of its own ({@code moe floor-hop}).
 *
 * @param clients how to reach the cluster
 * @param in      the topic read
 * @param out     the topic written
 * @param group   consumer group, and transactional id of an exactly-once hop
 */
record FloorHop(Clients clients, String in, String out, String group) {

    private static final Duration POLL = Duration.ofMillis(100);

    /** The two kinds of hop on the pipeline's path. */
    enum Kind {
        /** Consume, produce and commit the consumed offsets in one transaction per poll (the intake, the combiner). */
        EXACTLY_ONCE,
        /** Read committed records, forward them with an idempotent producer, then commit the offsets. */
        COMMITTED_RELAY
    }

    /** Runs the hop; {@code onCommit} gets each transaction commit's duration in nanoseconds. */
    void run(Kind kind, BooleanSupplier running, LongConsumer onCommit) {
        if (kind == Kind.EXACTLY_ONCE) {
            exactlyOnce(running, onCommit);
        } else {
            committedRelay(running);
        }
    }

    private void exactlyOnce(BooleanSupplier running, LongConsumer onCommit) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(group, "read_committed"));
                KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer(group))) {
            p.initTransactions();
            c.subscribe(List.of(in));
            while (running.getAsBoolean()) {
                ConsumerRecords<String, byte[]> records = c.poll(POLL);
                if (records.isEmpty()) {
                    continue;
                }
                p.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, byte[]> r : records) {
                    p.send(new ProducerRecord<>(out, r.key(), r.value()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                long t0 = System.nanoTime();
                p.sendOffsetsToTransaction(offsets, c.groupMetadata());
                p.commitTransaction();
                onCommit.accept(System.nanoTime() - t0);
            }
        }
    }

    private void committedRelay(BooleanSupplier running) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(group, "read_committed"));
                KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer(null))) {
            c.subscribe(List.of(in));
            while (running.getAsBoolean()) {
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
    }

    /**
     * Client properties of the floor's clients.
     *
     * @param bootstrap the cluster
     * @param props     Kafka client properties for every client (security), passed through unchanged
     */
    record Clients(String bootstrap, Map<String, Object> props) {

        Clients {
            props = Map.copyOf(props);
        }

        Map<String, Object> consumer(String group, String isolation) {
            Map<String, Object> p = new HashMap<>(props);
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

        Map<String, Object> producer(String transactionalId) {
            Map<String, Object> p = new HashMap<>(props);
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
    }
}
