package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The combiner topology on a test driver, with Avro serdes on an in-memory schema registry (a unit test:
 * no broker, no registry process). */
class CombinerTopologyTest {

    private static final int D = 4;
    private static final int E = 4;
    private static final long T0 = GatewayTestSupport.T0;
    private static final long DEADLINE_AFTER_MS = 1_000;
    /** The combiner keeps done markers and orphan results for max(60 s, default timeout). */
    private static final long RETENTION_MS = 60_000;

    @TempDir
    Path stateDir;

    private Topics topics;
    private InFlightLedger ledger;
    private SimpleMeterRegistry meters;
    private Topology topology;
    private TopologyTestDriver driver;
    private TestInputTopic<String, DispatchManifest> manifests;
    private TestInputTopic<String, ExpertResult> results;
    private TestOutputTopic<String, InferenceResponse> responses;
    private TestInputTopic<String, byte[]> rawResults;
    private TestOutputTopic<String, DeadLetter> deadLetters;

    /** Starts a driver; the model directory is never read by the combiner. */
    private void start(Map<String, String> extra) {
        String prefix = GatewayTestSupport.unique("gw-combiner") + ".";
        TypedTopics typed = GatewayTestSupport.typedTopics(prefix);
        topics = typed.names();
        GatewayConfig config = GatewayTestSupport.config(prefix, stateDir.resolve("no-model"), stateDir, extra);
        ledger = new InFlightLedger(E, 5_000);
        meters = new SimpleMeterRegistry();
        topology = CombinerTopology.build(config, topics, typed, ledger, meters);
        driver = new TopologyTestDriver(topology, GatewayApp.combinerProps(config, topics), Instant.ofEpochMilli(T0));
        rawResults = driver.createInputTopic(topics.expertResults(), new StringSerializer(), new ByteArraySerializer());
        deadLetters = driver.createOutputTopic(
                topics.deadLetter(),
                new StringDeserializer(),
                typed.deadLetter().valueSerde().deserializer());
        manifests = driver.createInputTopic(
                topics.manifests(),
                new StringSerializer(),
                typed.manifests().valueSerde().serializer());
        results = driver.createInputTopic(
                topics.expertResults(),
                new StringSerializer(),
                typed.expertResults().valueSerde().serializer());
        responses = driver.createOutputTopic(
                topics.responses(),
                new StringDeserializer(),
                typed.responses().valueSerde().deserializer());
    }

    @AfterEach
    void closeDriver() {
        if (driver != null) {
            driver.close();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // a request as the intake and the experts would describe it

    /** A request's manifest and one result per expert it uses, with random weighted output rows. */
    private record Request(DispatchManifest manifest, Map<Integer, ExpertResult> results) {

        String id() {
            return manifest.getRequestId();
        }

        List<ExpertResult> resultsInExpertOrder() {
            return new ArrayList<>(new TreeMap<>(results).values());
        }

        int[] tokensPerExpert() {
            int[] n = new int[E];
            results.forEach((e, r) -> n[e] = r.getPositions().size());
            return n;
        }
    }

    private static Request request(String id, List<List<Integer>> tokenExperts, long seed) {
        int s = tokenExperts.size();
        SplittableRandom random = new SplittableRandom(seed);
        Map<Integer, List<Integer>> positions = new TreeMap<>();
        List<Integer> dropped = new ArrayList<>();
        int choices = 0;
        for (int t = 0; t < s; t++) {
            for (int e : tokenExperts.get(t)) {
                positions.computeIfAbsent(e, k -> new ArrayList<>()).add(t);
                choices++;
            }
            if (tokenExperts.get(t).isEmpty()) {
                dropped.add(t);
            }
        }
        float[] weights = new float[choices];
        for (int i = 0; i < choices; i++) {
            weights[i] = (float) random.nextDouble();
        }
        DispatchManifest m = DispatchManifest.newBuilder()
                .setRequestId(id)
                .setSeqLen(s)
                .setHiddenSize(D)
                .setDeadlineMs(T0 + DEADLINE_AFTER_MS)
                .setReceivedAtMs(T0 - 7)
                .setExperts(new ArrayList<>(positions.keySet()))
                .setTokenExperts(tokenExperts)
                .setTokenWeights(Tensors.f32(weights, choices))
                .setDropped(dropped)
                .setFingerprint("sha256:" + "c3".repeat(32))
                .build();
        Map<Integer, ExpertResult> rs = new TreeMap<>();
        positions.forEach((e, ps) -> rs.put(e, result(id, e, ps, random)));
        return new Request(m, rs);
    }

    private static ExpertResult result(String id, int expert, List<Integer> positions, SplittableRandom random) {
        float[] out = new float[positions.size() * D];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-2, 3)));
        }
        return ExpertResult.newBuilder()
                .setRequestId(id)
                .setExpert(expert)
                .setAttempt(0)
                .setPositions(positions)
                .setOutput(Tensors.f32(out, positions.size(), D))
                .setWorkerId("worker-" + expert)
                .build();
    }

    /** Top-3, top-2 and top-1 tokens over all 4 experts, in rank orders that are not ascending. */
    private static Request mixed(String id, long seed) {
        return request(id, List.of(List.of(2, 0, 3), List.of(1), List.of(3, 1), List.of(0, 2, 1), List.of(2)), seed);
    }

    /** Per element: 0.0f plus each present expert's row, in the token's rank order (naive reference). */
    private static float[] naiveSum(DispatchManifest m, List<ExpertResult> present) {
        int s = m.getSeqLen();
        float[] out = new float[s * D];
        for (int t = 0; t < s; t++) {
            for (int i = 0; i < D; i++) {
                float acc = 0.0f;
                for (int e : m.getTokenExperts().get(t)) {
                    for (ExpertResult r : present) {
                        if (r.getExpert() == e) {
                            int row = r.getPositions().indexOf(t);
                            acc += Tensors.toFloats(r.getOutput())[row * D + i];
                        }
                    }
                }
                out[t * D + i] = acc;
            }
        }
        return out;
    }

    private void dispatchedToLedger(Request r) {
        ledger.dispatched(r.id(), r.tokensPerExpert(), r.manifest().getDeadlineMs());
    }

    private void pipe(DispatchManifest m) {
        manifests.pipeInput(m.getRequestId(), m, T0);
    }

    private void pipe(ExpertResult r) {
        results.pipeInput(r.getRequestId(), r, T0);
    }

    private double counter(String name) {
        return meters.get(name).counter().count();
    }

    private double responsesCounted(ResponseStatus status) {
        return meters.get("moe.combiner.responses")
                .tag("status", status.name())
                .counter()
                .count();
    }

    private static int storeSize(KeyValueStore<?, ?> store) {
        int n = 0;
        try (KeyValueIterator<?, ?> it = store.all()) {
            while (it.hasNext()) {
                it.next();
                n++;
            }
        }
        return n;
    }

    private InferenceResponse single() {
        List<KeyValue<String, InferenceResponse>> out = responses.readKeyValuesToList();
        assertEquals(1, out.size(), "exactly one response");
        assertEquals(out.get(0).value.getRequestId(), out.get(0).key, "keyed by request id");
        return out.get(0).value;
    }

    private void assertOk(Request r, InferenceResponse resp) {
        DispatchManifest m = r.manifest();
        assertEquals(r.id(), resp.getRequestId());
        assertEquals(ResponseStatus.OK, resp.getStatus());
        assertEquals(List.of(m.getSeqLen(), D), resp.getOutput().getShape());
        assertArrayEquals(naiveSum(m, r.resultsInExpertOrder()), Tensors.toFloats(resp.getOutput()));
        assertEquals(m.getTokenExperts(), resp.getTokenExperts());
        assertArrayEquals(Tensors.toFloats(m.getTokenWeights()), Tensors.toFloats(resp.getTokenWeights()));
        assertEquals(m.getDropped(), resp.getDropped());
        assertEquals(List.of(), resp.getMissingExperts());
        assertNull(resp.getError());
        assertEquals(m.getReceivedAtMs(), resp.getReceivedAtMs());
        assertEquals(m.getFingerprint(), resp.getFingerprint(), "the manifest's layer fingerprint is copied");
    }

    private void assertSettled() {
        assertEquals(0, ledger.pendingRequests());
        for (int e = 0; e < E; e++) {
            assertEquals(0, ledger.inFlight(e), "expert " + e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // completion

    @Test
    void resultsAfterTheManifestCompleteTheRequestWithTheRankOrderSum() {
        // Given a dispatched request whose manifest has arrived
        start(Map.of());
        Request r = mixed("after", 1);
        dispatchedToLedger(r);
        pipe(r.manifest());

        // When all but the last expert result arrive
        List<ExpertResult> rs = r.resultsInExpertOrder();
        for (int i = 0; i < rs.size() - 1; i++) {
            pipe(rs.get(i));
        }

        // Then nothing is emitted yet
        assertTrue(responses.isEmpty());
        assertEquals(1, ledger.pendingRequests());

        // When the last one arrives
        pipe(rs.get(rs.size() - 1));

        // Then one OK response carries the sum in rank order and the manifest's routing, and the ledger is settled
        InferenceResponse resp = single();
        assertOk(r, resp);
        assertEquals(T0, resp.getCompletedAtMs());
        assertSettled();
        assertEquals(1.0, responsesCounted(ResponseStatus.OK));
        assertEquals(1, meters.get("moe.combiner.latency").timer().count());
    }

    @Test
    void resultsBeforeTheManifestStillComplete() {
        // Given every expert result of a request arriving before its manifest, in reverse expert order
        start(Map.of());
        Request r = mixed("before", 2);
        dispatchedToLedger(r);
        List<ExpertResult> rs = r.resultsInExpertOrder();
        Collections.reverse(rs);
        rs.forEach(this::pipe);
        assertTrue(responses.isEmpty());

        // When the manifest arrives
        pipe(r.manifest());

        // Then the request completes on the manifest
        assertOk(r, single());
        assertSettled();
    }

    @Test
    void resultsOnBothSidesOfTheManifestComplete() {
        // Given two results before the manifest and two after it
        start(Map.of());
        Request r = mixed("both-sides", 3);
        List<ExpertResult> rs = r.resultsInExpertOrder();
        pipe(rs.get(3));
        pipe(rs.get(1));

        // When the manifest and then the remaining results arrive
        pipe(r.manifest());
        assertTrue(responses.isEmpty());
        pipe(rs.get(0));
        assertTrue(responses.isEmpty());
        pipe(rs.get(2));

        // Then the request completes once with every contribution
        assertOk(r, single());
    }

    @Test
    void interleavedRequestsCompleteIndependently() {
        // Given two requests whose records interleave
        start(Map.of());
        Request a = mixed("inter-a", 4);
        Request b = request("inter-b", List.of(List.of(3), List.of(0, 3)), 5);

        // When their records arrive mixed together
        pipe(a.manifest());
        pipe(b.results().get(3));
        pipe(a.results().get(0));
        pipe(a.results().get(1));
        pipe(b.manifest());
        pipe(a.results().get(2));
        pipe(b.results().get(0));
        InferenceResponse first = single();
        pipe(a.results().get(3));
        InferenceResponse second = single();

        // Then each completes with its own contributions, in the order they were completed
        assertOk(b, first);
        assertOk(a, second);
    }

    @Test
    void requestWithNoExpertsCompletesOnItsManifestAloneWithZeros() {
        // Given a request whose every token was dropped (no expert received a block)
        start(Map.of());
        Request r = request("all-dropped", List.of(List.of(), List.of(), List.of()), 6);
        assertEquals(List.of(), r.manifest().getExperts());
        dispatchedToLedger(r);

        // When its manifest arrives
        pipe(r.manifest());

        // Then it is answered OK at once with zeros, every position listed as dropped
        InferenceResponse resp = single();
        assertOk(r, resp);
        assertArrayEquals(new float[3 * D], Tensors.toFloats(resp.getOutput()));
        assertEquals(List.of(0, 1, 2), resp.getDropped());
        assertSettled();
    }

    // ---------------------------------------------------------------------------------------------
    // duplicates

    @Test
    void duplicateResultsAndManifestsAreIgnoredAndCounted() {
        // Given a request with its manifest and expert 0's result
        start(Map.of());
        Request r = mixed("dups", 7);
        pipe(r.manifest());
        pipe(r.results().get(0));

        // When expert 0 answers again (a redelivery, here with different numbers) and the manifest is repeated
        ExpertResult again = result("dups", 0, r.results().get(0).getPositions(), new SplittableRandom(99));
        again.setAttempt(1);
        pipe(again);
        pipe(r.manifest());

        // Then both are counted as duplicates and nothing is emitted
        assertEquals(2.0, counter("moe.combiner.duplicates"));
        assertTrue(responses.isEmpty());

        // When the remaining experts answer
        pipe(r.results().get(1));
        pipe(r.results().get(2));
        pipe(r.results().get(3));

        // Then exactly one response is emitted, using the first result of expert 0
        assertOk(r, single());
    }

    @Test
    void lateDuplicatesAfterCompletionEmitNothing() {
        // Given a completed request
        start(Map.of());
        Request r = mixed("late-dup", 8);
        pipe(r.manifest());
        r.resultsInExpertOrder().forEach(this::pipe);
        assertOk(r, single());

        // When one of its results and its manifest are delivered again
        pipe(r.results().get(2));
        pipe(r.manifest());

        // Then nothing more is emitted and both are counted as duplicates
        assertTrue(responses.isEmpty());
        assertEquals(2.0, counter("moe.combiner.duplicates"));
        assertEquals(1.0, responsesCounted(ResponseStatus.OK));
    }

    // ---------------------------------------------------------------------------------------------
    // deadline

    @Test
    void atTheDeadlineTimeoutNamesTheMissingExperts() {
        // Given a request of experts 0..3 of which only 0 and 1 answered
        start(Map.of());
        Request r = mixed("slow", 9);
        dispatchedToLedger(r);
        pipe(r.manifest());
        pipe(r.results().get(1));
        pipe(r.results().get(0));

        // When the wall clock reaches 1 ms before the deadline
        driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_AFTER_MS - 1));

        // Then nothing is emitted
        assertTrue(responses.isEmpty());

        // When it reaches the deadline
        driver.advanceWallClockTime(Duration.ofMillis(1));

        // Then one TIMEOUT names experts 2 and 3, carries no output, and the ledger is settled
        InferenceResponse resp = single();
        assertEquals(ResponseStatus.TIMEOUT, resp.getStatus());
        assertEquals(List.of(2, 3), resp.getMissingExperts());
        assertNull(resp.getOutput());
        assertTrue(resp.getError().contains("[2, 3]"), resp.getError());
        assertEquals(r.manifest().getTokenExperts(), resp.getTokenExperts());
        assertEquals(r.manifest().getFingerprint(), resp.getFingerprint());
        assertEquals(T0 + DEADLINE_AFTER_MS, resp.getCompletedAtMs());
        assertSettled();
        assertEquals(1.0, responsesCounted(ResponseStatus.TIMEOUT));

        // And a result arriving after the deadline emits nothing and is counted as a duplicate
        pipe(r.results().get(2));
        driver.advanceWallClockTime(Duration.ofSeconds(1));
        assertTrue(responses.isEmpty());
        assertEquals(1.0, counter("moe.combiner.duplicates"));
    }

    @Test
    void aDeadlineThatPassedWhileTheCombinerWasDownWaitsForTheResultsInItsBacklog() {
        // Given a combiner that comes back 5 s after the deadline of a request whose records wait in its backlog
        start(Map.of());
        Request r = mixed("backlog", 11);
        dispatchedToLedger(r);
        driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_AFTER_MS + 5_000));

        // When it processes the old manifest and a punctuation runs before it reaches the results
        pipe(r.manifest());
        driver.advanceWallClockTime(Duration.ofMillis(100));

        // Then it does not answer TIMEOUT while it is replaying old records
        assertTrue(responses.isEmpty());

        // When it reaches the results / Then the request is answered OK from them
        r.resultsInExpertOrder().forEach(this::pipe);
        assertOk(r, single());
        assertSettled();
    }

    @Test
    void aDeadlineHeldForABacklogFiresOnceNothingMoreArrives() {
        // Given a late manifest whose results never come
        start(Map.of());
        Request r = mixed("never", 12);
        dispatchedToLedger(r);
        driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_AFTER_MS + 5_000));
        pipe(r.manifest());
        driver.advanceWallClockTime(Duration.ofMillis(100));
        assertTrue(responses.isEmpty());

        // When the input stays quiet for the idle time
        driver.advanceWallClockTime(Duration.ofMillis(CatchUp.IDLE_MS));

        // Then the deadline fires: TIMEOUT naming every expert
        InferenceResponse resp = single();
        assertEquals(ResponseStatus.TIMEOUT, resp.getStatus());
        assertEquals(List.of(0, 1, 2, 3), resp.getMissingExperts());
        assertSettled();
    }

    @Test
    void malformedResultIsNeverCombinedAndItsExpertTimesOut() {
        // Given a request of experts 0..3 where expert 2 answers rows for the wrong positions
        start(Map.of());
        Request r = mixed("malformed", 12);
        dispatchedToLedger(r);
        pipe(r.manifest());
        ExpertResult good2 = r.results().get(2);
        List<Integer> shifted = new ArrayList<>();
        for (int p : good2.getPositions()) {
            shifted.add(p + 1);
        }
        ExpertResult bad2 = ExpertResult.newBuilder(good2).setPositions(shifted).build();
        pipe(r.results().get(0));
        pipe(r.results().get(1));
        pipe(r.results().get(3));

        // When the malformed result arrives
        pipe(bad2);

        // Then nothing is emitted for it, it is counted, and at the deadline the request times out naming expert 2
        assertTrue(responses.isEmpty());
        assertEquals(1.0, counter("moe.combiner.malformed.results"));
        driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_AFTER_MS));
        InferenceResponse resp = single();
        assertEquals(ResponseStatus.TIMEOUT, resp.getStatus());
        assertEquals(List.of(2), resp.getMissingExperts());
    }

    @Test
    void undecodableResultGoesToDeadLetterWithItsBytesAndTheStreamGoesOn() {
        // Given a record on the results topic that is not Avro
        start(Map.of());
        byte[] garbage = "not an expert result".getBytes(StandardCharsets.UTF_8);

        // When it arrives, followed by a complete request
        rawResults.pipeInput("garbage-id", garbage, T0);
        Request r = mixed("after-garbage", 13);
        dispatchedToLedger(r);
        pipe(r.manifest());
        r.results().values().forEach(this::pipe);

        // Then the garbage is on the dead-letter topic with its original bytes and the request completes
        List<KeyValue<String, DeadLetter>> letters = deadLetters.readKeyValuesToList();
        assertEquals(1, letters.size());
        DeadLetter letter = letters.get(0).value;
        assertEquals(topics.expertResults(), letter.getSourceTopic());
        assertEquals("value", letter.getField());
        assertEquals("garbage-id", letter.getRequestId());
        ByteBuffer v = letter.getValue().duplicate();
        byte[] original = new byte[v.remaining()];
        v.get(original);
        assertArrayEquals(garbage, original);
        assertEquals(ResponseStatus.OK, single().getStatus());
    }

    @Test
    void partialOnTimeoutCarriesThePresentContributions() {
        // Given partial responses enabled and a request of experts 0..3 where 1 and 3 answered
        start(Map.of(GatewayConfig.PARTIAL_ON_TIMEOUT, "true"));
        Request r = mixed("partial", 10);
        dispatchedToLedger(r);
        pipe(r.manifest());
        pipe(r.results().get(3));
        pipe(r.results().get(1));

        // When the deadline passes
        driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_AFTER_MS + 50));

        // Then a PARTIAL response sums exactly the present contributions in rank order and names the missing ones
        InferenceResponse resp = single();
        assertEquals(ResponseStatus.PARTIAL, resp.getStatus());
        assertEquals(List.of(0, 2), resp.getMissingExperts());
        assertArrayEquals(
                naiveSum(r.manifest(), List.of(r.results().get(1), r.results().get(3))),
                Tensors.toFloats(resp.getOutput()));
        assertTrue(resp.getError().contains("[0, 2]"), resp.getError());
        assertSettled();
        assertEquals(1.0, responsesCounted(ResponseStatus.PARTIAL));
    }

    @Test
    void timeoutsAreEmittedInDeadlineOrderAcrossAByteBoundary() {
        // Given two unanswered requests whose deadlines straddle a byte boundary of the timer key
        // (T0 + 255 ends in 0xFF, T0 + 256 carries into the next byte) and whose ids sort the other way
        start(Map.of());
        assertEquals(0, (T0 + 256) & 0xFF, "fixture: T0 + 256 must end in a zero byte");
        Request late = request("a-late", List.of(List.of(0)), 11);
        late.manifest().setDeadlineMs(T0 + 256);
        Request early = request("z-early", List.of(List.of(1)), 12);
        early.manifest().setDeadlineMs(T0 + 255);
        pipe(late.manifest());
        pipe(early.manifest());

        // When the wall clock passes both deadlines in one step
        driver.advanceWallClockTime(Duration.ofMillis(300));

        // Then both time out, the earlier deadline first
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(
                List.of("z-early", "a-late"),
                out.stream().map(InferenceResponse::getRequestId).toList());
        assertEquals(
                List.of(ResponseStatus.TIMEOUT, ResponseStatus.TIMEOUT),
                out.stream().map(InferenceResponse::getStatus).toList());
    }

    // ---------------------------------------------------------------------------------------------
    // state clean-up

    @Test
    void orphanResultsArePurgedWhenTheirManifestNeverComes() {
        // Given results of a request whose manifest never arrives
        start(Map.of());
        Request r = mixed("orphan", 13);
        pipe(r.results().get(0));
        pipe(r.results().get(2));
        KeyValueStore<String, ExpertResult> store = driver.getKeyValueStore(CombinerTopology.RESULTS_STORE);
        assertEquals(2, storeSize(store));

        // When the retention passes
        driver.advanceWallClockTime(Duration.ofMillis(RETENTION_MS - 100));
        assertEquals(2, storeSize(store));
        driver.advanceWallClockTime(Duration.ofMillis(200));

        // Then they are gone and nothing was emitted
        assertEquals(0, storeSize(store));
        assertTrue(responses.isEmpty());
    }

    @Test
    void completedRequestLeavesOnlyItsDoneMarkerWhichIsPurgedAfterRetention() {
        // Given a completed request
        start(Map.of());
        Request r = mixed("done", 14);
        pipe(r.manifest());
        r.resultsInExpertOrder().forEach(this::pipe);
        single();
        KeyValueStore<String, Long> done = driver.getKeyValueStore(CombinerTopology.DONE_STORE);

        // Then its manifest, results and deadline timer are gone, and a done marker remains
        assertEquals(0, storeSize(driver.getKeyValueStore(CombinerTopology.MANIFESTS_STORE)));
        assertEquals(0, storeSize(driver.getKeyValueStore(CombinerTopology.RESULTS_STORE)));
        assertEquals(1, storeSize(driver.getKeyValueStore(CombinerTopology.TIMERS_STORE)));
        assertEquals(T0, done.get("done"));

        // When the retention passes
        driver.advanceWallClockTime(Duration.ofMillis(RETENTION_MS + 100));

        // Then the marker and its timer are gone too
        assertEquals(0, storeSize(done));
        assertEquals(0, storeSize(driver.getKeyValueStore(CombinerTopology.TIMERS_STORE)));
    }

    @Test
    void resultFromAnExpertOutsideTheManifestIsNotKeptAfterCompletion() {
        // Given a request dispatched to experts 0 and 1, and a stray result from expert 3 (e.g. a misrouted block)
        start(Map.of());
        Request r = request("stray", List.of(List.of(0, 1), List.of(1)), 15);
        ExpertResult stray = result("stray", 3, List.of(0), new SplittableRandom(16));
        pipe(r.manifest());

        // When the stray result and then the expected ones arrive
        pipe(stray);
        pipe(r.results().get(0));
        pipe(r.results().get(1));

        // Then the response ignores the stray contribution and no result of the request stays in the store
        assertOk(r, single());
        assertEquals(0, storeSize(driver.getKeyValueStore(CombinerTopology.RESULTS_STORE)));
    }

    // ---------------------------------------------------------------------------------------------
    // shape

    @Test
    void topologyUsesTheDocumentedNodeStoreAndSinkNames() {
        // Given the built topology
        start(Map.of());

        // When it is described
        Map<String, String> nodes = GatewayTestSupport.describe(topology);

        // Then every node, store and topic has its documented name
        assertEquals(
                Map.of(
                        CombinerTopology.MANIFESTS_SOURCE, "source=[" + topics.manifests() + "]",
                        CombinerTopology.RESULTS_SOURCE, "source=[" + topics.expertResults() + "]",
                        CombinerTopology.PROCESSOR,
                                "stores=["
                                        + String.join(
                                                ", ",
                                                List.of(
                                                                CombinerTopology.MANIFESTS_STORE,
                                                                CombinerTopology.DONE_STORE,
                                                                CombinerTopology.RESULTS_STORE,
                                                                CombinerTopology.TIMERS_STORE,
                                                                CombinerTopology.ARRIVALS_STORE)
                                                        .stream()
                                                        .sorted()
                                                        .toList())
                                        + "]",
                        CombinerTopology.SINK, "sink=" + topics.responses(),
                        CombinerTopology.DEAD_LETTER_SINK, "sink=" + topics.deadLetter()),
                nodes);
        assertEquals(
                List.of(
                        "combiner-manifests-source",
                        "combiner-results-source",
                        "combiner",
                        "combiner-response-sink",
                        "combiner-dead-letter-sink",
                        "combiner-manifests",
                        "combiner-results",
                        "combiner-timers",
                        "combiner-done",
                        "combiner-arrivals"),
                List.of(
                        CombinerTopology.MANIFESTS_SOURCE,
                        CombinerTopology.RESULTS_SOURCE,
                        CombinerTopology.PROCESSOR,
                        CombinerTopology.SINK,
                        CombinerTopology.DEAD_LETTER_SINK,
                        CombinerTopology.MANIFESTS_STORE,
                        CombinerTopology.RESULTS_STORE,
                        CombinerTopology.TIMERS_STORE,
                        CombinerTopology.DONE_STORE,
                        CombinerTopology.ARRIVALS_STORE));
    }
}
