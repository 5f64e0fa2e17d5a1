package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.embedded.SharedStack;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.config.LayeredConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The whole gateway process against the production broker image (apache/kafka, KRaft) instead of the embedded
 * broker. Needs a Docker engine; without one the class is skipped. The schema registry is the embedded one.
 */
@Testcontainers(disabledWithoutDocker = true)
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class GatewayOnKafkaContainerIT {

    /**
     * The broker image: apache/kafka matching the client version, or an image honouring its contract named by
     * MOE_TEST_KAFKA_IMAGE (or -Dmoe.test.kafka-image). No registry is reachable on the CI machines, so .ci/run
     * names the local stand-in built by docker/build-local-images.sh.
     */
    private static final String IMAGE = System.getProperty(
            "moe.test.kafka-image", System.getenv().getOrDefault("MOE_TEST_KAFKA_IMAGE", "apache/kafka:4.3.1"));

    @Container
    private static final KafkaContainer KAFKA = new KafkaContainer(
                    DockerImageName.parse(IMAGE).asCompatibleSubstituteFor("apache/kafka"))
            // the broker's port is published on 127.0.0.1 only
            .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                    .withPortBindings(new PortBinding(Ports.Binding.bindIp("127.0.0.1"), ExposedPort.tcp(9092))));

    @Test
    void gatewayOnTheBrokerImageDispatchesARequestAndWritesItsManifest(@TempDir Path dir) throws Exception {
        // Given a small model and the gateway started against the container
        Path model = GatewayTestSupport.generateModel(dir.resolve("model"), """
                {"format": "mixtral", "hidden_size": 8, "intermediate_size": 16, "num_experts": 2,
                 "router": {"type": "topk_softmax", "top_k": 1}}
                """);
        String prefix = GatewayTestSupport.unique("gw-container") + ".";
        String registry = SharedStack.get().schemaRegistryUrl();
        GatewayConfig config = GatewayConfig.from(LayeredConfig.load(
                GatewayConfig.defaults(),
                null,
                Map.of(),
                Map.of(
                        GatewayConfig.APPLICATION_ID,
                        prefix + "app",
                        GatewayConfig.BOOTSTRAP,
                        KAFKA.getBootstrapServers(),
                        GatewayConfig.REGISTRY,
                        registry,
                        GatewayConfig.TOPIC_PREFIX,
                        prefix,
                        GatewayConfig.MODEL_DIR,
                        model.toString(),
                        GatewayConfig.STATE_DIR,
                        dir.resolve("state").toString(),
                        GatewayConfig.PARTITIONS,
                        "1")));
        // the gateway's registry: the test's client must write and read with the same schema ids
        TypedTopics typed = new TypedTopics(new Topics(prefix), new SchemaRegistryClient(registry));
        try (GatewayApp app = GatewayApp.start(config, new SimpleMeterRegistry());
                KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(
                        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.getBootstrapServers()),
                        new StringSerializer(),
                        typed.requests().valueSerde().serializer());
                KafkaConsumer<String, DispatchManifest> consumer = new KafkaConsumer<>(
                        Map.of(
                                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                                KAFKA.getBootstrapServers(),
                                ConsumerConfig.GROUP_ID_CONFIG,
                                prefix + "reader",
                                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                                "earliest"),
                        new StringDeserializer(),
                        typed.manifests().valueSerde().deserializer())) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(90)), "gateway running");

            // When one request is produced
            float[] rows = new float[3 * 8];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = (i % 5) - 2f;
            }
            producer.send(new ProducerRecord<>(
                            typed.names().requests(), "c1", new InferenceRequest("c1", Tensors.f32(rows, 3, 8), null)))
                    .get();

            // Then its manifest appears on the manifests topic (polled with a deadline)
            consumer.subscribe(List.of(typed.names().manifests()));
            DispatchManifest manifest = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (manifest == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, DispatchManifest> r : consumer.poll(Duration.ofMillis(200))) {
                    manifest = r.value();
                }
            }
            assertNotNull(manifest, "manifest of c1 within 60 s");
            assertEquals("c1", manifest.getRequestId());
            assertEquals(3, manifest.getSeqLen());
            assertEquals(3, manifest.getTokenExperts().size());
        }
    }
}
