package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class EmbeddedStackIT {

    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedStackIT.class);
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void twoStacksSideBySideHaveTheirOwnPortsAndBothServe() throws Exception {
        // Given two stacks running at the same time
        List<ProcessHandle> registryProcesses = new ArrayList<>();
        try (EmbeddedStack a = EmbeddedStack.start();
                EmbeddedStack b = EmbeddedStack.start()) {
            for (EmbeddedStack stack : List.of(a, b)) {
                EmbeddedStack.StartupTimes t = stack.startupMillis();
                LOGGER.info(
                        "stack start-up: broker {} ms, registry {} ms, total {} ms (parallel)",
                        t.brokerMillis(),
                        t.registryMillis(),
                        t.totalMillis());
                assertTrue(t.totalMillis() >= Math.max(t.brokerMillis(), t.registryMillis()) - 50, t.toString());
                ProcessHandle registry =
                        ProcessHandle.of(stack.schemaRegistry().pid()).orElseThrow();
                registryProcesses.add(registry);
                registry.parent().ifPresent(registryProcesses::add);
            }

            // When each gets a record and a schema of its own
            EmbeddedKafka.createTopics(a.bootstrapServers(), Map.of("only-on-a", 2));
            EmbeddedKafka.createTopics(b.bootstrapServers(), Map.of("only-on-b", 1));
            produce(a.bootstrapServers(), "only-on-a", "hello a");
            produce(b.bootstrapServers(), "only-on-b", "hello b");
            HttpResponse<String> registered = register(
                    a.schemaRegistryUrl(),
                    "only-on-a-value",
                    "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"x\",\"type\":\"long\"}]}");

            // Then the ports are distinct and each stack holds exactly what was written to it
            Set<Integer> ports = new HashSet<>(List.of(
                    port(a.bootstrapServers()),
                    port(b.bootstrapServers()),
                    URI.create(a.schemaRegistryUrl()).getPort(),
                    URI.create(b.schemaRegistryUrl()).getPort()));
            assertEquals(4, ports.size(), "ports " + ports + " of " + a + " and " + b);
            assertEquals(List.of("hello a"), consume(a.bootstrapServers(), "only-on-a", 1));
            assertEquals(List.of("hello b"), consume(b.bootstrapServers(), "only-on-b", 1));
            assertEquals(200, registered.statusCode(), registered.body());
            assertTrue(get(a.schemaRegistryUrl() + "/subjects").body().contains("only-on-a-value"));
            assertEquals("[]", get(b.schemaRegistryUrl() + "/subjects").body().replace(" ", ""));
        }

        // And after close no registry process is left
        assertEquals(4, registryProcesses.size(), registryProcesses.toString());
        for (ProcessHandle handle : registryProcesses) {
            assertFalse(handle.isAlive(), "process " + handle.pid() + " survived close()");
        }
    }

    @Test
    void sharedStackIsStartedOnceAndServesEveryCaller() throws Exception {
        // Given / When the shared stack is asked for twice
        EmbeddedStack first = SharedStack.get();
        EmbeddedStack second = SharedStack.get();

        // Then it is the same running stack
        assertSame(first, second);
        EmbeddedKafka.createTopics(first.bootstrapServers(), Map.of("shared-probe", 1));
        produce(first.bootstrapServers(), "shared-probe", "shared");
        assertEquals(List.of("shared"), consume(second.bootstrapServers(), "shared-probe", 1));
        assertEquals(200, get(second.schemaRegistryUrl() + "/subjects").statusCode());
    }

    private static int port(String hostPort) {
        return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
    }

    private static void produce(String bootstrap, String topic, String value) throws Exception {
        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                StringSerializer.class);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
            producer.send(new ProducerRecord<>(topic, "k", value)).get(30, TimeUnit.SECONDS);
        }
    }

    private static List<String> consume(String bootstrap, String topic, int expected) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG,
                "stack-it-" + System.nanoTime(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class);
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (values.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
            }
        }
        return values;
    }

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(10))
                        .header("Accept", CONTENT_TYPE)
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> register(String base, String subject, String schema)
            throws IOException, InterruptedException {
        String body = "{\"schema\":\"" + schema.replace("\"", "\\\"") + "\"}";
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(base + "/subjects/" + subject + "/versions"))
                        .timeout(Duration.ofSeconds(10))
                        .header("Content-Type", CONTENT_TYPE)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
