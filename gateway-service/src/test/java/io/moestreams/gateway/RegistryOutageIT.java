package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.SchemaRegistryException;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.WireFormat;
import io.moestreams.testsupport.EmbeddedCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A schema registry that cannot be asked is not the record's fault: both topologies fail the task (the record is
 * processed again once the thread is replaced, exactly once) instead of dead-lettering or rejecting a valid record.
 * The real embedded registry sits behind a proxy that starts failing on cue.
 */
@EmbeddedCluster
@Timeout(120)
class RegistryOutageIT {

    private static final String MODEL_JSON = """
            {"format": "mixtral", "hidden_size": 8, "intermediate_size": 16, "num_experts": 4,
             "router": {"type": "topk_softmax", "top_k": 2}, "activation": "silu",
             "capacity_factor": null, "overflow": "none", "seed": 11}
            """;

    @TempDir
    Path dir;

    /**
     * A registry client through the proxy that has every value schema cached except {@code uncached}'s. The outage
     * answers 503 at once, so the timeouts only bound the warm-up (generous: the registry is slow on a busy machine).
     */
    private static TypedTopics viaProxy(RegistryProxy proxy, Topics topics, String uncached) {
        SchemaRegistryClient client =
                new SchemaRegistryClient(proxy.url(), Duration.ofSeconds(10), Duration.ofSeconds(30));
        SchemaCatalog.valueSchemas(topics, 4, 0).forEach((topic, schema) -> {
            if (!topic.equals(uncached)) {
                client.register(WireFormat.subject(topic, false), schema);
            }
        });
        return new TypedTopics(topics, client);
    }

    @Test
    void aRegistryOutageFailsTheGatewayTaskInsteadOfDeadLetteringAValidRequest(EmbeddedStack cluster) throws Exception {
        // Given a gateway whose registry client has every output schema cached (not the request's), via a proxy
        Topics topics = new Topics(GatewayTestSupport.unique("gw-outage") + ".");
        TypedTopics direct = new TypedTopics(topics, new SchemaRegistryClient(cluster.schemaRegistryUrl()));
        Path modelDir = GatewayTestSupport.generateModel(dir.resolve("model"), MODEL_JSON);
        try (RegistryProxy proxy = new RegistryProxy(cluster.schemaRegistryUrl());
                MoeModel model = MoeModel.load(modelDir, ExpertSelection.none())) {
            TypedTopics typed = viaProxy(proxy, topics, topics.requests());
            GatewayConfig config = GatewayTestSupport.config(topics.prefix(), modelDir, dir.resolve("state"), Map.of());
            Topology topology = GatewayTopology.build(
                    config,
                    topics,
                    typed,
                    model.config(),
                    model.router(),
                    null,
                    new InFlightLedger(4, 5_000),
                    new SimpleMeterRegistry());
            byte[] valid = direct.requests()
                    .valueSerde()
                    .serializer()
                    .serialize(
                            topics.requests(),
                            new InferenceRequest("r-outage", Tensors.f32(new float[16], 2, 8), null));
            try (TopologyTestDriver d = GatewayTestSupport.driver(topology, config, config.applicationId())) {
                TestInputTopic<String, byte[]> in =
                        d.createInputTopic(topics.requests(), new StringSerializer(), new ByteArraySerializer());
                TestOutputTopic<String, DeadLetter> letters = d.createOutputTopic(
                        topics.deadLetter(),
                        new StringDeserializer(),
                        direct.deadLetter().valueSerde().deserializer());
                TestOutputTopic<String, InferenceResponse> answers = d.createOutputTopic(
                        topics.responses(),
                        new StringDeserializer(),
                        direct.responses().valueSerde().deserializer());

                // When the registry fails just as a valid request (whose schema id the client never saw) arrives
                proxy.fail();
                RuntimeException e = assertThrows(
                        RuntimeException.class, () -> in.pipeInput("r-outage", valid, GatewayTestSupport.T0));

                // Then the task fails, and the valid request is neither dead-lettered nor rejected
                assertTrue(SchemaRegistryException.isTransient(e), e.toString());
                assertTrue(letters.isEmpty());
                assertTrue(answers.isEmpty());
            }
        }
    }

    @Test
    void aRegistryOutageFailsTheCombinerTaskInsteadOfDeadLetteringAValidManifest(EmbeddedStack cluster)
            throws Exception {
        // Given a combiner whose registry client has every output schema cached (not the manifest's), via a proxy
        Topics topics = new Topics(GatewayTestSupport.unique("cb-outage") + ".");
        TypedTopics direct = new TypedTopics(topics, new SchemaRegistryClient(cluster.schemaRegistryUrl()));
        try (RegistryProxy proxy = new RegistryProxy(cluster.schemaRegistryUrl())) {
            TypedTopics typed = viaProxy(proxy, topics, topics.manifests());
            GatewayConfig config =
                    GatewayTestSupport.config(topics.prefix(), dir.resolve("no-model"), dir.resolve("state"), Map.of());
            Topology topology = CombinerTopology.build(
                    config, topics, typed, new InFlightLedger(4, 5_000), new SimpleMeterRegistry());
            DispatchManifest m = DispatchManifest.newBuilder()
                    .setRequestId("outage")
                    .setSeqLen(1)
                    .setHiddenSize(8)
                    .setDeadlineMs(GatewayTestSupport.T0 + 30_000)
                    .setReceivedAtMs(GatewayTestSupport.T0)
                    .setExperts(List.of(0))
                    .setTokenExperts(List.of(List.of(0)))
                    .setTokenWeights(Tensors.f32(new float[] {1f}, 1))
                    .setDropped(List.of())
                    .build();
            byte[] manifestBytes = direct.manifests().valueSerde().serializer().serialize(topics.manifests(), m);
            try (TopologyTestDriver d = new TopologyTestDriver(
                    topology, GatewayApp.combinerProps(config, topics), Instant.ofEpochMilli(GatewayTestSupport.T0))) {
                TestInputTopic<String, byte[]> in =
                        d.createInputTopic(topics.manifests(), new StringSerializer(), new ByteArraySerializer());
                TestOutputTopic<String, DeadLetter> letters = d.createOutputTopic(
                        topics.deadLetter(),
                        new StringDeserializer(),
                        direct.deadLetter().valueSerde().deserializer());

                // When the registry fails just as the manifest arrives
                proxy.fail();
                RuntimeException e = assertThrows(
                        RuntimeException.class, () -> in.pipeInput("outage", manifestBytes, GatewayTestSupport.T0));

                // Then the task fails (the record is processed again later) and nothing is dead-lettered
                assertTrue(SchemaRegistryException.isTransient(e), e.toString());
                assertTrue(letters.isEmpty());
            }
        }
    }
}
