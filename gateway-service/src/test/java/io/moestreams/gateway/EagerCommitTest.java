package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.metrics.MoeMeter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The intake asks Kafka Streams for a commit right after a request it dispatched only while it is caught up: a
 * request older than {@code moe.gateway.eager-commit-max-lag-ms} is part of a backlog and waits for the commit
 * interval (one transaction per request would halve the throughput of a burst).
 */
class EagerCommitTest {

    private static final long NOW = GatewayTestSupport.T0;
    private static final String MODEL_JSON = """
            {"format": "mixtral", "hidden_size": 8, "intermediate_size": 16, "num_experts": 4,
             "router": {"type": "topk_softmax", "top_k": 2}, "activation": "silu", "seed": 5}
            """;

    @TempDir
    static Path root;

    private static MoeModel model;

    @BeforeAll
    static void loadModel() {
        model = MoeModel.load(
                GatewayTestSupport.generateModel(root.resolve("model"), MODEL_JSON), ExpertSelection.none());
    }

    @AfterAll
    static void closeModel() {
        model.close();
    }

    @Test
    void aFreshRequestIsCommittedAtOnce() {
        // Given an intake with the default settings (eager commits for records up to 200 ms old)
        Intake intake = new Intake(Map.of());

        // When it dispatches a request written 5 ms ago
        intake.process("r1", NOW - 5);

        // Then it asked for a commit, and counted it as eager
        assertTrue(intake.context.committed(), "a caught-up intake commits each dispatched request at once");
        assertEquals(1.0, intake.commits("eager"));
        assertEquals(0.0, intake.commits("backlog"));
    }

    @Test
    void aRequestFromABacklogWaitsForTheCommitInterval() {
        // Given an intake with the default settings
        Intake intake = new Intake(Map.of());

        // When it dispatches a request written 2 s ago (a burst it is working through)
        intake.process("r1", NOW - 2_000);

        // Then it left the commit to the commit interval, and counted the answer as one worked off in a backlog
        assertFalse(intake.context.committed(), "a request from a backlog must not cost a transaction of its own");
        assertEquals(0.0, intake.commits("eager"));
        assertEquals(1.0, intake.commits("backlog"));
    }

    @Test
    void theLagBoundIsASetting() {
        // Given an intake whose eager commits reach records up to 5 s old
        Intake intake = new Intake(Map.of(GatewayConfig.EAGER_COMMIT_MAX_LAG_MS, "5000"));

        // When it dispatches a request written 2 s ago
        intake.process("r1", NOW - 2_000);

        // Then it asked for a commit
        assertTrue(intake.context.committed());
    }

    @Test
    void withEagerCommitsOffNothingIsCommittedOutsideTheInterval() {
        // Given an intake with eager commits off
        Intake intake = new Intake(Map.of(GatewayConfig.EAGER_COMMIT, "false"));

        // When it dispatches a fresh request
        intake.process("r1", NOW);

        // Then it left the commit to the commit interval
        assertFalse(intake.context.committed());
    }

    /** A gateway processor on a mock context, its stores in memory, the wall clock at {@link #NOW}. */
    private static final class Intake {
        final MockProcessorContext<String, SpecificRecord> context = new MockProcessorContext<>();
        final SimpleMeterRegistry meters = new SimpleMeterRegistry();
        final GatewayProcessor processor;
        final TypedTopics typed;

        Intake(Map<String, String> settings) {
            String prefix = GatewayTestSupport.unique("eager") + ".";
            typed = GatewayTestSupport.typedTopics(prefix);
            GatewayConfig config = GatewayTestSupport.config(prefix, model.directory(), root.resolve(prefix), settings);
            processor = new GatewayProcessor(
                    config,
                    model.config(),
                    model.router(),
                    "sha256:" + "5a".repeat(32),
                    typed.requests().valueSerde().deserializer(),
                    new InFlightLedger(model.config().numExperts(), 5_000),
                    RoutingObserver.NONE,
                    meters);
            KeyValueStore<String, Long> ids = Stores.keyValueStoreBuilder(
                            Stores.inMemoryKeyValueStore(GatewayTopology.REQUEST_IDS_STORE),
                            Serdes.String(),
                            Serdes.Long())
                    .withLoggingDisabled()
                    .build();
            KeyValueStore<Bytes, byte[]> byTime = Stores.keyValueStoreBuilder(
                            Stores.inMemoryKeyValueStore(GatewayTopology.REQUEST_IDS_BY_TIME_STORE),
                            Serdes.Bytes(),
                            Serdes.ByteArray())
                    .withLoggingDisabled()
                    .build();
            ids.init(context.getStateStoreContext(), ids);
            byTime.init(context.getStateStoreContext(), byTime);
            context.addStateStore(ids);
            context.addStateStore(byTime);
            context.setCurrentSystemTimeMs(NOW);
            processor.init(context);
        }

        double commits(String mode) {
            return MoeMeter.GATEWAY_COMMITS.counter(meters, "intake", mode).count();
        }

        void process(String id, long writtenAtMs) {
            Topics topics = typed.names();
            float[] rows = new float[3 * model.config().hiddenSize()];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = (i % 7) - 3f;
            }
            byte[] value = typed.requests()
                    .valueSerde()
                    .serializer()
                    .serialize(
                            topics.requests(),
                            new InferenceRequest(
                                    id, Tensors.f32(rows, 3, model.config().hiddenSize()), null));
            context.setRecordMetadata(topics.requests(), 0, 0);
            processor.process(new Record<>(id.getBytes(StandardCharsets.UTF_8), value, writtenAtMs));
            assertTrue(
                    context.forwarded().stream().anyMatch(f -> f.record().value() instanceof DispatchManifest),
                    "the request was dispatched (a manifest was forwarded)");
        }
    }
}
