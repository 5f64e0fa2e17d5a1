package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.avro.Tensor;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.CapacityPlanner;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The gating topology on a test driver, with Avro serdes on an in-memory schema registry (a unit test:
 * no broker, no registry process). */
class GatewayTopologyTest {

    private static final int D = 8;
    private static final int E = 4;
    private static final int MAX_SEQ = 8;
    private static final int MAX_BYTES = 512;
    private static final long DEFAULT_TIMEOUT_MS = 30_000;
    private static final String FINGERPRINT = "sha256:" + "5a".repeat(32);

    /** top-2 of 4 experts with capacity factor 0.5 and drop: C = ceil(0.5·2·S/4), so long sequences drop. */
    private static final String MODEL_JSON = """
            {"format": "mixtral", "hidden_size": 8, "intermediate_size": 16, "num_experts": 4,
             "router": {"type": "topk_softmax", "top_k": 2}, "activation": "silu",
             "capacity_factor": 0.5, "overflow": "drop", "seed": 11}
            """;

    @TempDir
    static Path modelRoot;

    private static MoeModel model;

    @TempDir
    Path stateDir;

    private Topics topics;
    private TypedTopics typed;
    private InFlightLedger ledger;
    private SimpleMeterRegistry meters;
    private Topology topology;
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> requests;
    private Serializer<InferenceRequest> requestSerializer;
    private List<TestOutputTopic<String, DispatchBlock>> expertTopics;
    private TestOutputTopic<String, DispatchManifest> manifests;
    private TestOutputTopic<String, InferenceResponse> responses;
    private TestOutputTopic<String, DeadLetter> deadLetters;
    private long nextOffset;

    @BeforeAll
    static void loadModel() {
        Path dir = GatewayTestSupport.generateModel(modelRoot.resolve("model"), MODEL_JSON);
        model = MoeModel.load(dir, ExpertSelection.none());
    }

    @AfterAll
    static void closeModel() {
        model.close();
    }

    @BeforeEach
    void startDriver() {
        String prefix = GatewayTestSupport.unique("gw-topology") + ".";
        typed = GatewayTestSupport.typedTopics(prefix);
        topics = typed.names();
        GatewayConfig config = GatewayTestSupport.config(
                prefix,
                model.directory(),
                stateDir,
                Map.of(
                        GatewayConfig.MAX_SEQ_LEN, Integer.toString(MAX_SEQ),
                        GatewayConfig.MAX_REQUEST_BYTES, Integer.toString(MAX_BYTES),
                        GatewayConfig.DEFAULT_TIMEOUT_MS, Long.toString(DEFAULT_TIMEOUT_MS)));
        ledger = new InFlightLedger(E, 5_000);
        meters = new SimpleMeterRegistry();
        topology = GatewayTopology.build(
                config, topics, typed, model.config(), model.router(), FINGERPRINT, ledger, meters);
        driver = GatewayTestSupport.driver(topology, config, config.applicationId());
        requests = driver.createInputTopic(topics.requests(), new StringSerializer(), new ByteArraySerializer());
        requestSerializer = typed.requests().valueSerde().serializer();
        expertTopics = new ArrayList<>();
        for (int e = 0; e < E; e++) {
            expertTopics.add(driver.createOutputTopic(
                    topics.expert(e),
                    new StringDeserializer(),
                    typed.expert(e).valueSerde().deserializer()));
        }
        manifests = driver.createOutputTopic(
                topics.manifests(),
                new StringDeserializer(),
                typed.manifests().valueSerde().deserializer());
        responses = driver.createOutputTopic(
                topics.responses(),
                new StringDeserializer(),
                typed.responses().valueSerde().deserializer());
        deadLetters = driver.createOutputTopic(
                topics.deadLetter(),
                new StringDeserializer(),
                typed.deadLetter().valueSerde().deserializer());
        nextOffset = 0;
    }

    @AfterEach
    void closeDriver() {
        driver.close();
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    private static float[] randomRows(int s, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] rows = new float[s * D];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) random.nextGaussian();
        }
        return rows;
    }

    private byte[] requestBytes(String id, Tensor tokens, Long deadlineMs) {
        return requestSerializer.serialize(topics.requests(), new InferenceRequest(id, tokens, deadlineMs));
    }

    /** Pipes one record with timestamp T0 + its offset; returns its offset. */
    private long pipe(String key, byte[] value) {
        long offset = nextOffset++;
        requests.pipeInput(key, value, GatewayTestSupport.T0 + offset);
        return offset;
    }

    private static float[] floats(Tensor t) {
        return Tensors.toFloats(t);
    }

    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    private List<DispatchBlock> readAllBlocks(int expert) {
        return expertTopics.get(expert).readValuesToList();
    }

    /** Expected routing of a request: the router's choices after capacity, as computed by moe-core. */
    private static Assignment expectedRouting(String id, float[] rows, int s) {
        return CapacityPlanner.plan(model.router().route(id, rows, s), model.config());
    }

    /** Tokens per expert counted from the assignment's per-token lists. */
    private static int[] countPerExpert(Assignment a) {
        int[] n = new int[E];
        for (int[] experts : a.experts()) {
            for (int e : experts) {
                n[e]++;
            }
        }
        return n;
    }

    private double counter(String name, String tag, String value) {
        return meters.get(name).tag(tag, value).counter().count();
    }

    /** Asserts the blocks and manifest of one accepted request against the expected routing. */
    private void assertDispatched(String id, float[] rows, int s, long receivedAt, long deadline) {
        Assignment a = expectedRouting(id, rows, s);
        List<Integer> usedExperts = new ArrayList<>();
        for (int e = 0; e < E; e++) {
            // expected block of expert e, gathered token by token from the assignment
            List<Integer> positions = new ArrayList<>();
            List<Float> weights = new ArrayList<>();
            for (int t = 0; t < s; t++) {
                for (int j = 0; j < a.experts()[t].length; j++) {
                    if (a.experts()[t][j] == e) {
                        positions.add(t);
                        weights.add(a.weights()[t][j]);
                    }
                }
            }
            List<KeyValue<String, DispatchBlock>> blocks = expertTopics.get(e).readKeyValuesToList();
            if (positions.isEmpty()) {
                assertEquals(List.of(), blocks, "expert " + e + " serves no token and must get no block");
                continue;
            }
            usedExperts.add(e);
            assertEquals(1, blocks.size(), "one block for expert " + e);
            assertEquals(id, blocks.get(0).key);
            DispatchBlock b = blocks.get(0).value;
            assertEquals(id, b.getRequestId());
            assertEquals(e, b.getExpert());
            assertEquals(0, b.getAttempt());
            assertEquals(s, b.getSeqLen());
            assertEquals(deadline, b.getDeadlineMs());
            assertEquals(positions, b.getPositions(), "positions of expert " + e);
            for (int i = 1; i < b.getPositions().size(); i++) {
                assertTrue(b.getPositions().get(i - 1) < b.getPositions().get(i), "ascending positions");
            }
            float[] expectedWeights = new float[weights.size()];
            float[] expectedHidden = new float[positions.size() * D];
            for (int i = 0; i < positions.size(); i++) {
                expectedWeights[i] = weights.get(i);
                System.arraycopy(rows, positions.get(i) * D, expectedHidden, i * D, D);
            }
            assertEquals(List.of(positions.size()), b.getGateWeights().getShape());
            assertArrayEquals(expectedWeights, floats(b.getGateWeights()), "gate weights of expert " + e);
            assertEquals(List.of(positions.size(), D), b.getHidden().getShape());
            assertArrayEquals(expectedHidden, floats(b.getHidden()), "hidden rows of expert " + e);
        }

        List<KeyValue<String, DispatchManifest>> ms = manifests.readKeyValuesToList();
        assertEquals(1, ms.size(), "one manifest");
        assertEquals(id, ms.get(0).key);
        DispatchManifest m = ms.get(0).value;
        assertEquals(id, m.getRequestId());
        assertEquals(s, m.getSeqLen());
        assertEquals(D, m.getHiddenSize());
        assertEquals(deadline, m.getDeadlineMs());
        assertEquals(receivedAt, m.getReceivedAtMs());
        assertEquals(usedExperts, m.getExperts());
        List<List<Integer>> tokenExperts = new ArrayList<>();
        List<Float> flat = new ArrayList<>();
        List<Integer> dropped = new ArrayList<>();
        for (int t = 0; t < s; t++) {
            List<Integer> list = new ArrayList<>();
            for (int j = 0; j < a.experts()[t].length; j++) {
                list.add(a.experts()[t][j]);
                flat.add(a.weights()[t][j]);
            }
            tokenExperts.add(list);
            if (list.isEmpty()) {
                dropped.add(t);
            }
        }
        assertEquals(tokenExperts, m.getTokenExperts());
        float[] flatWeights = new float[flat.size()];
        for (int i = 0; i < flatWeights.length; i++) {
            flatWeights[i] = flat.get(i);
        }
        assertArrayEquals(flatWeights, floats(m.getTokenWeights()));
        assertEquals(dropped, m.getDropped());
        assertEquals(FINGERPRINT, m.getFingerprint(), "the manifest names the layer routed with");
    }

    // ---------------------------------------------------------------------------------------------
    // valid requests

    @Test
    void validRequestDispatchesOneBlockPerUsedExpertAndOneManifest() {
        // Given a full-length request (8 tokens, top-2 over 4 experts with 2 slots each, so some choices drop)
        float[] rows = randomRows(MAX_SEQ, 1);
        Assignment a = expectedRouting("r-valid", rows, MAX_SEQ);

        // When it is sent without a deadline
        long offset = pipe("r-valid", requestBytes("r-valid", Tensors.f32(rows, MAX_SEQ, D), null));

        // Then each expert used gets exactly its block, the manifest describes the routing, nothing is rejected
        int[] perExpert = countPerExpert(a);
        assertTrue(Arrays.stream(perExpert).sum() < 2 * MAX_SEQ, "fixture: capacity must drop some choices");
        long receivedAt = GatewayTestSupport.T0 + offset;
        assertDispatched("r-valid", rows, MAX_SEQ, receivedAt, GatewayTestSupport.T0 + DEFAULT_TIMEOUT_MS);
        assertTrue(responses.isEmpty());
        assertTrue(deadLetters.isEmpty());
        // And the metrics count the accepted request, the dispatched and the dropped tokens
        assertEquals(1.0, counter("moe.gateway.requests", "outcome", "accepted"));
        assertEquals(0.0, counter("moe.gateway.requests", "outcome", "rejected"));
        for (int e = 0; e < E; e++) {
            assertEquals(perExpert[e], counter("moe.gateway.tokens.dispatched", "expert", Integer.toString(e)));
        }
        assertEquals(
                a.dropped().length,
                meters.get("moe.gateway.tokens.dropped").counter().count());
    }

    @Test
    void explicitDeadlineIsCarriedIntoEveryBlockAndTheManifest() {
        // Given a request with its own deadline
        float[] rows = randomRows(3, 2);
        long deadline = GatewayTestSupport.T0 + 1_234;

        // When it is sent
        long offset = pipe("r-deadline", requestBytes("r-deadline", Tensors.f32(rows, 3, D), deadline));

        // Then the blocks and the manifest carry that deadline, not the default one
        assertDispatched("r-deadline", rows, 3, GatewayTestSupport.T0 + offset, deadline);
    }

    @Test
    void defaultDeadlineCountsFromTheGatewayClockNotTheRecordTimestamp() {
        // Given a replayed request whose record timestamp is an hour old
        float[] rows = randomRows(2, 31);
        long oldTimestamp = GatewayTestSupport.T0 - 3_600_000L;

        // When it is sent
        requests.pipeInput("r-replayed", requestBytes("r-replayed", Tensors.f32(rows, 2, D), null), oldTimestamp);

        // Then it gets the full default timeout from the gateway's clock, not an already-expired deadline
        assertDispatched("r-replayed", rows, 2, oldTimestamp, GatewayTestSupport.T0 + DEFAULT_TIMEOUT_MS);
    }

    @Test
    void deadlineFurtherThanTheMaximumTimeoutIsCapped() {
        // Given a request asking for a deadline a day away (the maximum timeout is 10 minutes by default)
        float[] rows = randomRows(2, 32);
        long offset =
                pipe("r-far", requestBytes("r-far", Tensors.f32(rows, 2, D), GatewayTestSupport.T0 + 86_400_000L));

        // Then its blocks and manifest carry the capped deadline
        assertDispatched("r-far", rows, 2, GatewayTestSupport.T0 + offset, GatewayTestSupport.T0 + 600_000L);
    }

    @Test
    void deadlineAlreadyPassedOnArrivalIsAnsweredTimeoutWithoutDispatch() {
        // Given a request whose deadline lies before the gateway's clock
        float[] rows = randomRows(2, 33);

        // When it is sent
        pipe("r-late", requestBytes("r-late", Tensors.f32(rows, 2, D), GatewayTestSupport.T0 - 1));

        // Then it is answered TIMEOUT at once, nothing is dispatched, and it is not bad input
        List<KeyValue<String, InferenceResponse>> rs = responses.readKeyValuesToList();
        assertEquals(1, rs.size());
        assertEquals(ResponseStatus.TIMEOUT, rs.get(0).value.getStatus());
        assertTrue(
                rs.get(0).value.getError().startsWith("deadlineMs:"),
                rs.get(0).value.getError());
        for (int e = 0; e < E; e++) {
            assertTrue(expertTopics.get(e).isEmpty(), "no block for expert " + e);
        }
        assertTrue(manifests.isEmpty());
        assertTrue(deadLetters.isEmpty());
        assertEquals(1.0, counter("moe.gateway.requests", "outcome", "expired"));
    }

    @Test
    void bf16RequestIsRoutedOnItsDecodedValues() {
        // Given values exactly representable in bfloat16, sent as a BF16 tensor
        float[] rows = randomRows(4, 3);
        for (int i = 0; i < rows.length; i++) {
            rows[i] = Float.intBitsToFloat(Float.floatToRawIntBits(rows[i]) & 0xFFFF_0000);
        }

        // When it is sent
        long offset = pipe("r-bf16", requestBytes("r-bf16", Tensors.bf16(rows, 4, D), null));

        // Then it is dispatched exactly like the same values in F32 (blocks carry F32 rows)
        long receivedAt = GatewayTestSupport.T0 + offset;
        assertDispatched("r-bf16", rows, 4, receivedAt, GatewayTestSupport.T0 + DEFAULT_TIMEOUT_MS);
    }

    @Test
    void ledgerRecordsDispatchedTokensPerExpert() {
        // Given two requests of different lengths
        float[] rowsA = randomRows(5, 4);
        float[] rowsB = randomRows(8, 5);
        int[] a = countPerExpert(expectedRouting("ledger-a", rowsA, 5));
        int[] b = countPerExpert(expectedRouting("ledger-b", rowsB, 8));

        // When both are sent
        pipe("ledger-a", requestBytes("ledger-a", Tensors.f32(rowsA, 5, D), null));
        pipe("ledger-b", requestBytes("ledger-b", Tensors.f32(rowsB, 8, D), null));

        // Then the ledger holds both, with the tokens each expert received
        assertEquals(2, ledger.pendingRequests());
        for (int e = 0; e < E; e++) {
            assertEquals(a[e] + b[e], ledger.inFlight(e), "expert " + e);
        }
        // And settling one leaves the other's tokens
        ledger.settled("ledger-a");
        for (int e = 0; e < E; e++) {
            assertEquals(b[e], ledger.inFlight(e), "expert " + e);
        }
    }

    @Test
    void requestIdIsAcceptedAgainOnlyAfterTheDedupeRetention() {
        // Given an accepted request (ids are remembered for the default hour)
        byte[] value = requestBytes("again", Tensors.f32(randomRows(2, 6), 2, D), null);
        pipe("again", value);
        assertEquals(1, manifests.readValuesToList().size());

        // When the same id comes back within the hour
        driver.advanceWallClockTime(Duration.ofMinutes(59));
        pipe("again", value);

        // Then it is a duplicate
        assertEquals("requestId", deadLetters.readValue().getField());
        assertTrue(manifests.isEmpty());

        // When it comes back after the retention has passed and the purge has run
        driver.advanceWallClockTime(Duration.ofMinutes(2));
        pipe("again", value);

        // Then it is served again
        assertEquals(1, manifests.readValuesToList().size());
        assertTrue(deadLetters.isEmpty());
    }

    // ---------------------------------------------------------------------------------------------
    // bad input

    /** A bad record: its key, how its value is built, and what the dead letter must say. */
    enum BadInput {
        UNDECODABLE_BYTES(
                "junk", (t, s) -> "this is not avro".getBytes(StandardCharsets.UTF_8), "value", "magic byte", true),
        UNKNOWN_SCHEMA_ID(
                "unknown-id",
                (t, s) -> ByteBuffer.allocate(9)
                        .put((byte) 0)
                        .putInt(987_654_321)
                        .putInt(42)
                        .array(),
                "value",
                "unknown schema id 987654321",
                true),
        TRUNCATED_AVRO(
                "truncated",
                (t, s) -> {
                    byte[] full = s.apply("truncated", Tensors.f32(randomRows(2, 7), 2, D));
                    return Arrays.copyOf(full, full.length - 9);
                },
                "value",
                "truncated or corrupt",
                true),
        EMPTY_VALUE("empty-value", (t, s) -> new byte[0], "value", "empty record", true),
        TOMBSTONE("tombstone", (t, s) -> null, "value", "empty record", true),
        GARBAGE_WITHOUT_KEY(null, (t, s) -> new byte[] {1, 2, 3}, "value", "magic byte", false),
        WRONG_HIDDEN_SIZE(
                "wrong-hidden",
                (t, s) -> s.apply("wrong-hidden", Tensors.f32(new float[15], 3, 5)),
                "tokens.shape[1]",
                "expected hidden size 8, found 5",
                true),
        NAN(
                "nan",
                (t, s) -> {
                    float[] rows = randomRows(2, 8);
                    rows[D + 2] = Float.NaN;
                    return s.apply("nan", Tensors.f32(rows, 2, D));
                },
                "tokens[1][2]",
                "finite",
                true),
        INFINITY(
                "inf",
                (t, s) -> {
                    float[] rows = randomRows(2, 9);
                    rows[D - 1] = Float.POSITIVE_INFINITY;
                    return s.apply("inf", Tensors.f32(rows, 2, D));
                },
                "tokens[0][7]",
                "Infinity",
                true),
        EMPTY_SEQUENCE(
                "empty",
                (t, s) -> s.apply("empty", Tensors.f32(new float[0], 0, D)),
                "tokens.shape[0]",
                "empty sequence",
                true),
        TOO_LONG(
                "too-long",
                (t, s) -> s.apply("too-long", Tensors.f32(randomRows(MAX_SEQ + 1, 10), MAX_SEQ + 1, D)),
                "tokens.shape[0]",
                "sequence too long",
                true),
        OVERSIZED(
                "oversized",
                (t, s) -> s.apply("o".repeat(250), Tensors.f32(randomRows(MAX_SEQ, 11), MAX_SEQ, D)),
                "value",
                "exceeds the limit of " + MAX_BYTES + " bytes",
                true),
        CONTROL_CHARACTER_IN_ID(
                "bell-key",
                (t, s) -> s.apply("bell\u0007", Tensors.f32(randomRows(1, 12), 1, D)),
                "requestId",
                "control character at index 4",
                true),
        DUPLICATE_ID(
                "dup",
                (t, s) -> s.apply("dup", Tensors.f32(randomRows(2, 13), 2, D)),
                "requestId",
                "duplicate request id 'dup'",
                true);

        final String key;
        final BiFunction<String, BiFunction<String, Tensor, byte[]>, byte[]> value;
        final String field;
        final String reason;
        final boolean responds;

        BadInput(
                String key,
                BiFunction<String, BiFunction<String, Tensor, byte[]>, byte[]> value,
                String field,
                String reason,
                boolean responds) {
            this.key = key;
            this.value = value;
            this.field = field;
            this.reason = reason;
            this.responds = responds;
        }
    }

    @ParameterizedTest
    @EnumSource(BadInput.class)
    void badInputIsDeadLetteredAndRejectedAndTheNextGoodRecordIsServed(BadInput bad) {
        // Given the bad record's bytes (and, for a duplicate, its original already served)
        byte[] value = bad.value.apply(topics.requests(), (id, tensor) -> requestBytes(id, tensor, null));
        if (bad == BadInput.OVERSIZED) {
            assertTrue(value.length > MAX_BYTES, "fixture: the oversized record must exceed the limit");
        } else if (value != null) {
            assertTrue(value.length <= MAX_BYTES, "fixture: only the oversized record may exceed the limit");
        }
        double acceptedBefore = 0;
        if (bad == BadInput.DUPLICATE_ID) {
            pipe(bad.key, value);
            assertEquals(1, manifests.readValuesToList().size());
            acceptedBefore = 1;
        }
        for (int e = 0; e < E; e++) {
            readAllBlocks(e);
        }

        // When it is sent
        long offset = pipe(bad.key, value);

        // Then one dead letter carries the original bytes, where they came from, the field and the reason
        List<KeyValue<String, DeadLetter>> dls = deadLetters.readKeyValuesToList();
        assertEquals(1, dls.size());
        DeadLetter dl = dls.get(0).value;
        String expectedId = bad.responds ? bad.key : null;
        assertEquals(expectedId, dls.get(0).key);
        assertEquals(topics.requests(), dl.getSourceTopic());
        assertEquals(0, dl.getSourcePartition());
        assertEquals(offset, dl.getSourceOffset());
        if (bad.key == null) {
            assertNull(dl.getKey());
        } else {
            assertArrayEquals(bad.key.getBytes(StandardCharsets.UTF_8), bytes(dl.getKey()));
        }
        if (value == null) {
            assertNull(dl.getValue());
        } else {
            assertArrayEquals(value, bytes(dl.getValue()), "original value bytes");
        }
        assertEquals(bad.field, dl.getField());
        assertTrue(dl.getReason().startsWith(bad.field + ": "), dl.getReason());
        assertTrue(dl.getReason().contains(bad.reason), "expected '" + bad.reason + "' in: " + dl.getReason());
        assertEquals(expectedId, dl.getRequestId());
        assertEquals(GatewayTestSupport.T0, dl.getTimestampMs());

        // And, when an id is known, one REJECTED response with the same reason
        List<KeyValue<String, InferenceResponse>> rs = responses.readKeyValuesToList();
        if (bad.responds) {
            assertEquals(1, rs.size());
            assertEquals(bad.key, rs.get(0).key);
            InferenceResponse r = rs.get(0).value;
            assertEquals(bad.key, r.getRequestId());
            assertEquals(ResponseStatus.REJECTED, r.getStatus());
            assertEquals(dl.getReason(), r.getError());
            assertNull(r.getOutput());
            assertNull(r.getTokenWeights());
            assertEquals(List.of(), r.getTokenExperts());
            assertEquals(GatewayTestSupport.T0 + offset, r.getReceivedAtMs());
        } else {
            assertEquals(List.of(), rs);
        }
        // And nothing was dispatched for it
        for (int e = 0; e < E; e++) {
            assertTrue(expertTopics.get(e).isEmpty(), "no block for expert " + e);
        }
        assertTrue(manifests.isEmpty());
        assertEquals(1.0, counter("moe.gateway.requests", "outcome", "rejected"));

        // When a good request follows
        float[] rows = randomRows(3, 99);
        long goodOffset = pipe("next-good", requestBytes("next-good", Tensors.f32(rows, 3, D), null));

        // Then it is served normally
        long receivedAt = GatewayTestSupport.T0 + goodOffset;
        assertDispatched("next-good", rows, 3, receivedAt, GatewayTestSupport.T0 + DEFAULT_TIMEOUT_MS);
        assertTrue(deadLetters.isEmpty());
        assertTrue(responses.isEmpty());
        assertEquals(acceptedBefore + 1, counter("moe.gateway.requests", "outcome", "accepted"));
    }

    // ---------------------------------------------------------------------------------------------
    // shape

    @Test
    void topologyUsesTheDocumentedNodeStoreAndSinkNames() {
        // Given the built topology
        // When it is described
        Map<String, String> nodes = GatewayTestSupport.describe(topology);

        // Then every node, store and topic has its documented name
        assertEquals(
                Map.of(
                        GatewayTopology.SOURCE, "source=[" + topics.requests() + "]",
                        GatewayTopology.PROCESSOR,
                                "stores=[" + GatewayTopology.REQUEST_IDS_STORE + ", "
                                        + GatewayTopology.REQUEST_IDS_BY_TIME_STORE + "]",
                        GatewayTopology.DISPATCH_SINK, "sink=<dynamic>",
                        GatewayTopology.MANIFEST_SINK, "sink=" + topics.manifests(),
                        GatewayTopology.RESPONSE_SINK, "sink=" + topics.responses(),
                        GatewayTopology.DEAD_LETTER_SINK, "sink=" + topics.deadLetter()),
                nodes);
        assertEquals("gateway-requests-source", GatewayTopology.SOURCE);
        assertEquals("gateway-validate-route", GatewayTopology.PROCESSOR);
        assertEquals("gateway-request-ids", GatewayTopology.REQUEST_IDS_STORE);
        assertEquals("gateway-dispatch-sink", GatewayTopology.DISPATCH_SINK);
        assertEquals("gateway-manifest-sink", GatewayTopology.MANIFEST_SINK);
        assertEquals("gateway-response-sink", GatewayTopology.RESPONSE_SINK);
        assertEquals("gateway-dead-letter-sink", GatewayTopology.DEAD_LETTER_SINK);
        assertNotNull(driver.getKeyValueStore(GatewayTopology.REQUEST_IDS_STORE));
        assertEquals("gateway-request-ids-by-time", GatewayTopology.REQUEST_IDS_BY_TIME_STORE);
        assertFalse(nodes.isEmpty());
    }
}
