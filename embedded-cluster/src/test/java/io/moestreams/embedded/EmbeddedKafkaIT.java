package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class EmbeddedKafkaIT {

    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedKafkaIT.class);

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.start();
        LOGGER.info("broker start-up: {} ms", kafka.startupMillis());
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void readCommittedConsumerSeesCommittedTransactionsButNotAbortedOnes() throws Exception {
        // Given a topic with three partitions
        String topic = "tx-visibility";
        EmbeddedKafka.createTopics(kafka.bootstrapServers(), Map.of(topic, 3));

        // When one transaction of 10 records commits and one of 5 records aborts
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerConfig("tx-test-1"))) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "committed-" + i));
            }
            producer.commitTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 5; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "aborted-" + i));
            }
            producer.flush();
            producer.abortTransaction();
        }

        // Then read_committed returns exactly the 10 committed values, read_uncommitted also the 5 aborted ones
        List<String> committed = readAll(topic, "read_committed", 10);
        assertEquals(10, committed.size(), committed.toString());
        assertTrue(committed.stream().allMatch(v -> v.startsWith("committed-")), committed.toString());
        assertEquals(10, Set.copyOf(committed).size());
        List<String> uncommitted = readAll(topic, "read_uncommitted", 15);
        assertEquals(15, uncommitted.size(), uncommitted.toString());
    }

    @Test
    void createTopicsMakesTopicsVisibleWithTheirPartitionCounts() throws Exception {
        // Given two new topic names
        Map<String, Integer> wanted = Map.of("ct-one", 1, "ct-four", 4);

        // When they are created, twice (the second call finds them existing)
        EmbeddedKafka.createTopics(kafka.bootstrapServers(), wanted);
        EmbeddedKafka.createTopics(kafka.bootstrapServers(), wanted);

        // Then they are described with the requested partitions, each with a leader
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            var described =
                    admin.describeTopics(wanted.keySet()).allTopicNames().get(10, TimeUnit.SECONDS);
            wanted.forEach((topic, partitions) -> {
                assertEquals(partitions, described.get(topic).partitions().size(), topic);
                assertTrue(described.get(topic).partitions().stream().allMatch(p -> p.leader() != null), topic);
            });
        }
    }

    @Test
    void createTopicsRejectsAnExistingTopicWithAnotherPartitionCount() {
        // Given a topic with two partitions
        EmbeddedKafka.createTopics(kafka.bootstrapServers(), Map.of("ct-mismatch", 2));

        // When it is requested with three, Then the error names the topic and both counts
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> EmbeddedKafka.createTopics(kafka.bootstrapServers(), Map.of("ct-mismatch", 3)));
        assertTrue(
                e.getMessage().contains("ct-mismatch")
                        && e.getMessage().contains("2 partitions")
                        && e.getMessage().contains("expected 3"),
                e.getMessage());
    }

    @Test
    void createTopicsRejectsAPartitionCountBelowOne() {
        // Given / When / Then
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> EmbeddedKafka.createTopics(kafka.bootstrapServers(), Map.of("ct-zero", 0)));
        assertTrue(e.getMessage().contains("ct-zero"), e.getMessage());
    }

    @Test
    void brokerDoesNotAutoCreateTopics() throws Exception {
        // Given a producer that may block for at most 1.5 s on metadata
        Map<String, Object> config = producerConfig(null);
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1500);

        // When it sends to a topic nobody created
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>("never-created", "k", "v"))
                            .get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof TimeoutException, e.toString());
        }

        // Then the topic still does not exist
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            assertFalse(admin.listTopics().names().get(10, TimeUnit.SECONDS).contains("never-created"));
        }
    }

    @Test
    void closeStopsTheBrokerPromptlyAndDeletesItsDirectory() throws Exception {
        // Given a second broker, on its own ports and directory
        EmbeddedKafka other = EmbeddedKafka.start(Map.of("message.max.bytes", "2097152"));
        Path dir = other.directory();
        String[] hostPort = other.bootstrapServers().split(":");
        assertTrue(Files.isDirectory(dir));
        assertFalse(other.bootstrapServers().equals(kafka.bootstrapServers()));

        // When it is closed
        long t0 = System.nanoTime();
        other.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        LOGGER.info("broker start-up: {} ms, close: {} ms", other.startupMillis(), closeMillis);

        // Then its directory is gone, its port refuses connections, and the other broker still works
        assertFalse(Files.exists(dir), dir + " still exists");
        assertThrows(IOException.class, () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])), 1000);
            }
        });
        assertTrue(closeMillis < 5000, "close took " + closeMillis + " ms");
        other.close(); // idempotent
        EmbeddedKafka.createTopics(kafka.bootstrapServers(), Map.of("after-other-closed", 1));
    }

    private static Map<String, Object> producerConfig(String transactionalId) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        if (transactionalId != null) {
            config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return config;
    }

    /** Reads from the beginning until {@code expected} records arrived and 1 s passed without more. */
    private static List<String> readAll(String topic, String isolation, int expected) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "reader-" + isolation + "-" + System.nanoTime(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                isolation,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class);
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            long quietUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, quietUntil)) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
                if (values.size() >= expected && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                }
            }
        }
        return values;
    }
}
