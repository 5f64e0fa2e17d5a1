package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moestreams.avro.CassetteEntry;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.core.model.SafetensorsFile;
import io.moestreams.core.model.TensorInfo;
import io.moestreams.schemas.cassette.CassetteReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replay-based testing end to end: traffic served by the pipeline on a real broker and registry is recorded from the
 * topics into a cassette, then replayed in-process against the same model, a model with one expert perturbed, and
 * a model with another router (with and without forced routing).
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ReplayIT {

    private static final int HIDDEN = 16;
    private static final int REQUESTS = 60;

    @TempDir
    static Path dir;

    private static PipelineHarness harness;
    private static Path model;
    private static Path cassette;
    private static List<RequestLine> lines;

    @BeforeAll
    static void serveAndRecord() throws Exception {
        // Given 60 requests answered by the pipeline (gateway, one expert process, combiner) on a generated model
        harness = new PipelineHarness();
        model = dir.resolve("model");
        PipelineHarness.model(
                model,
                "mixtral",
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "silu",
                1.0,
                "reroute",
                HIDDEN,
                24,
                4,
                7);
        lines = PipelineHarness.requests(dir, REQUESTS, HIDDEN, 1, 16, 8);
        try (LocalPipeline pipeline = harness.start(model, List.of(Set.of(0, 1, 2, 3)), Map.of());
                InferenceClient client = harness.client()) {
            client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(120), n -> {});
            assertEquals(0, pipeline.gateway().ledger().pendingRequests(), "every request settled");
        }
        // And recorded from the topics (the services are gone; the topics retain everything)
        cassette = dir.resolve("traffic.cassette");
        assertEquals(
                0,
                moe(
                        "record",
                        "--bootstrap-servers",
                        harness.stack.bootstrapServers(),
                        "--schema-registry",
                        harness.stack.schemaRegistryUrl(),
                        "--topic-prefix",
                        harness.topics.prefix(),
                        "--out",
                        cassette.toString()));
    }

    private static int moe(String... args) {
        StringWriter err = new StringWriter();
        return MoeCli.commandLine().setErr(new PrintWriter(err)).execute(args);
    }

    private static JsonNode replay(Path against, String name, String... extra) throws Exception {
        Path json = dir.resolve(name + ".json");
        Path html = dir.resolve(name + ".html");
        List<String> args = new ArrayList<>(List.of(
                "replay",
                "--cassette",
                cassette.toString(),
                "--model",
                against.toString(),
                "--json",
                json.toString(),
                "--html",
                html.toString()));
        args.addAll(List.of(extra));
        int code = moe(args.toArray(String[]::new));
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(report.get("summary").get("passed").asBoolean() ? 0 : 1, code, "exit status follows the verdict");
        assertTrue(Files.readString(html).contains("<svg "), "the HTML report has its plots");
        return report;
    }

    @Test
    void theCassetteHoldsEveryRequestWithItsResponseAndTheLayerFingerprint() throws Exception {
        List<CassetteEntry> entries = entries();
        assertEquals(REQUESTS, entries.size());
        Set<String> ids = new TreeSet<>();
        String fingerprint = LayerFingerprint.of(model, null);
        for (CassetteEntry e : entries) {
            ids.add(e.getRequestId());
            assertNotNull(e.getResponse(), e.getRequestId() + " has its response");
            assertEquals(ResponseStatus.OK, e.getResponse().getStatus());
            assertEquals(fingerprint, e.getResponse().getFingerprint(), "the gateway's fingerprint of the layer");
        }
        assertEquals(lines.stream().map(RequestLine::id).collect(Collectors.toCollection(TreeSet::new)), ids);
    }

    @Test
    void replayingAgainstTheSameModelIsBitIdenticalAndExitsZero() throws Exception {
        JsonNode report = replay(model, "same");
        assertEquals(
                REQUESTS,
                report.get("summary").get("identical").asInt(),
                report.get("summary").toString());
        assertTrue(report.get("summary").get("passed").asBoolean());
        assertEquals(
                report.get("expertLoad").get("recorded"),
                report.get("expertLoad").get("replayed"));
    }

    @Test
    void aPerturbedExpertFailsExactlyTheRequestsRoutedToIt() throws Exception {
        // Given a copy of the model with expert 2's down projection scaled by 1.001
        Path perturbed = copy(model, dir.resolve("perturbed-expert"));
        scale(perturbed, "experts.2.w2.weight", 1.001f);
        // When the cassette is replayed against it
        JsonNode report = replay(perturbed, "perturbed-expert");
        // Then it fails, the routing is unchanged, and the different requests are exactly those routed to expert 2,
        // the tokens whose output differs exactly the (request, token) pairs recorded as routed to expert 2
        assertFalse(report.get("summary").get("passed").asBoolean());
        assertEquals(0, report.get("summary").get("routingChangedTokens").asInt());
        Set<String> expected = new TreeSet<>();
        Set<String> expectedTokens = new TreeSet<>();
        for (CassetteEntry e : entries()) {
            List<List<Integer>> tokenExperts = e.getResponse().getTokenExperts();
            for (int t = 0; t < tokenExperts.size(); t++) {
                if (tokenExperts.get(t).contains(2)) {
                    expected.add(e.getRequestId());
                    expectedTokens.add(e.getRequestId() + "@" + t);
                }
            }
        }
        Set<String> different = new TreeSet<>();
        Set<String> differentTokens = new TreeSet<>();
        for (JsonNode r : report.get("requests")) {
            if (r.get("verdict").asText().equals("DIFFERENT")) {
                different.add(r.get("id").asText());
                assertTrue(r.get("maxAbsDiff").asDouble() > 0);
            }
            for (JsonNode t : r.get("tokensDiffering")) {
                differentTokens.add(r.get("id").asText() + "@" + t.asInt());
            }
        }
        assertFalse(expected.isEmpty(), "fixture: some requests use expert 2");
        assertEquals(expected, different);
        assertEquals(expectedTokens, differentTokens);
        assertEquals(
                expectedTokens.size(),
                report.get("summary").get("tokensDiffering").asInt());
        assertNotEquals(
                report.get("setup").get("fingerprint").asText(),
                entries().get(0).getResponse().getFingerprint(),
                "the report shows another layer");
    }

    @Test
    void anotherRouterChangesTheRoutingUnlessTheRecordedRoutingIsForced() throws Exception {
        // Given a copy of the model whose router weights are negated (top-2 becomes bottom-2)
        Path rerouted = copy(model, dir.resolve("other-router"));
        scale(rerouted, "gate.weight", -1f);
        // When replayed with the routing recomputed, Then routing changes are reported and it fails
        JsonNode free = replay(rerouted, "other-router");
        assertTrue(free.get("summary").get("routingChangedTokens").asInt() > 0);
        assertFalse(free.get("summary").get("passed").asBoolean());
        // When replayed with the recorded routing forced, Then no routing change, and every request is bit-identical
        JsonNode forced = replay(rerouted, "forced", "--forced-routing");
        assertEquals(0, forced.get("summary").get("routingChangedTokens").asInt());
        assertEquals(
                REQUESTS,
                forced.get("summary").get("identical").asInt(),
                forced.get("summary").toString());
        assertTrue(forced.get("setup").get("forcedRouting").asBoolean());
    }

    @Test
    void replayFromTheTopicsWithGivenIdsNeedsNoCassette() throws Exception {
        // Given three ids of the recorded traffic
        String ids = lines.get(0).id() + "," + lines.get(5).id() + ","
                + lines.get(11).id();
        Path json = dir.resolve("from-topic.json");
        // When replayed straight from the topics
        int code = moe(
                "replay",
                "--from-topic",
                "--bootstrap-servers",
                harness.stack.bootstrapServers(),
                "--schema-registry",
                harness.stack.schemaRegistryUrl(),
                "--topic-prefix",
                harness.topics.prefix(),
                "--ids",
                ids,
                "--model",
                model.toString(),
                "--json",
                json.toString());
        // Then exactly those three are replayed, bit-identical
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(0, code);
        assertEquals(3, report.get("summary").get("requests").asInt());
        assertEquals(3, report.get("summary").get("identical").asInt());
    }

    @Test
    void replayThroughAShadowDeploymentUnderAnotherPrefixIsBitIdentical() throws Exception {
        // Given the same model served by a second deployment on the same cluster under a fresh topic prefix
        String shadow = "shadow" + System.nanoTime() % 100000 + ".";
        Path json = dir.resolve("shadow.json");
        // When the cassette is replayed through it
        int code = moe(
                "replay",
                "--cassette",
                cassette.toString(),
                "--model",
                model.toString(),
                "--shadow-prefix",
                shadow,
                "--bootstrap-servers",
                harness.stack.bootstrapServers(),
                "--schema-registry",
                harness.stack.schemaRegistryUrl(),
                "--start-services",
                "--json",
                json.toString());
        // Then every answer of the shadow is bit-identical to the recording
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(
                REQUESTS,
                report.get("summary").get("identical").asInt(),
                report.get("summary").toString());
        assertEquals(0, code);
    }

    @Test
    void anOffsetRangeRecordsOnlyThoseRequests() throws Exception {
        // When the first 5 offsets of every requests partition are recorded
        Path part = dir.resolve("part.cassette");
        assertEquals(
                0,
                moe(
                        "record",
                        "--bootstrap-servers",
                        harness.stack.bootstrapServers(),
                        "--schema-registry",
                        harness.stack.schemaRegistryUrl(),
                        "--topic-prefix",
                        harness.topics.prefix(),
                        "--from-offset",
                        "0",
                        "--to-offset",
                        "5",
                        "--out",
                        part.toString()));
        // Then the cassette holds exactly the requests at offsets 0..4 of the full recording, each with its response
        Set<String> got = new TreeSet<>();
        try (CassetteReader r = CassetteReader.open(part)) {
            for (CassetteEntry e : r) {
                assertNotNull(e.getResponse(), e.getRequestId());
                got.add(e.getRequestId());
            }
        }
        Set<String> expected = new TreeSet<>();
        for (CassetteEntry e : entries()) {
            if (e.getRequestOffset() < 5) {
                expected.add(e.getRequestId());
            }
        }
        assertFalse(expected.isEmpty());
        assertTrue(expected.size() < REQUESTS, "fixture: a part only");
        assertEquals(expected, got);
    }

    private static List<CassetteEntry> entries() throws Exception {
        List<CassetteEntry> out = new ArrayList<>();
        try (CassetteReader r = CassetteReader.open(cassette)) {
            r.forEach(out::add);
        }
        return out;
    }

    private static Path copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path p : files.toList()) {
                if (!p.getFileName().toString().startsWith(".")) {
                    Files.copy(p, to.resolve(p.getFileName()));
                }
            }
        }
        return to;
    }

    /** Multiplies every value of an F32 tensor of model.safetensors by {@code factor}, in place. */
    private static void scale(Path modelDir, String tensor, float factor) throws Exception {
        Path file = modelDir.resolve("model.safetensors");
        TensorInfo info;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            info = f.info(tensor);
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int base = (int) (8 + b.getLong(0) + info.begin());
        for (int i = 0; i < info.byteLength() / 4; i++) {
            b.putFloat(base + 4 * i, b.getFloat(base + 4 * i) * factor);
        }
        Files.write(file, bytes);
    }
}
