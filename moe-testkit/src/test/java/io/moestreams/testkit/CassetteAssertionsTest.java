package io.moestreams.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.CassetteEntry;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsFile;
import io.moestreams.core.model.TensorInfo;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.core.reference.ReferenceMoeLayer;
import io.moestreams.replay.ReplayReport;
import io.moestreams.replay.RequestDiff;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.cassette.CassetteWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

/**
 * The user-facing assertion on a generated model and a cassette of what the reference layer answered (what
 * {@code moe reference} writes, wrapped as {@code moe record} would): no broker, no registry.
 */
class CassetteAssertionsTest {

    private static final int HIDDEN = 16;
    private static final int EXPERTS = 4;
    private static final int REQUESTS = 24;
    private static final int PERTURBED_EXPERT = 2;

    @TempDir
    static Path dir;

    private static Path model;
    private static Path cassette;
    private static List<CassetteEntry> entries;

    @BeforeAll
    static void recordACassette() throws Exception {
        // Given a generated Mixtral-style model (top-2 of 4 experts) and 24 requests of 1..8 tokens
        model = dir.resolve("model");
        ModelGenerator.generateMixtral(model, HIDDEN, 24, EXPERTS, 7);
        String fingerprint = LayerFingerprint.of(model, null);
        Random random = new Random(11);
        entries = new ArrayList<>();
        // And a cassette of the reference layer's answers, fingerprinted like the gateway's responses
        try (MoeModel m = MoeModel.load(model, null, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer layer = new ReferenceMoeLayer(m);
            for (int r = 0; r < REQUESTS; r++) {
                String id = "req-" + r;
                int seqLen = 1 + random.nextInt(8);
                float[] tokens = new float[seqLen * HIDDEN];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = (float) random.nextGaussian();
                }
                entries.add(entry(id, tokens, seqLen, layer.forward(id, tokens, seqLen), fingerprint, r));
            }
        }
        cassette = dir.resolve("traffic.cassette");
        try (CassetteWriter out =
                CassetteWriter.create(cassette, Map.of("moe.recorded-by", "CassetteAssertionsTest"))) {
            for (CassetteEntry e : entries) {
                out.append(e);
            }
        }
    }

    private static CassetteEntry entry(
            String id, float[] tokens, int seqLen, LayerOutput out, String fingerprint, long offset) {
        int[][] experts = out.assignment().experts();
        float[][] weights = out.assignment().weights();
        List<List<Integer>> tokenExperts = new ArrayList<>();
        int choices = 0;
        for (int[] row : experts) {
            tokenExperts.add(Arrays.stream(row).boxed().toList());
            choices += row.length;
        }
        float[] flat = new float[choices];
        int k = 0;
        for (float[] row : weights) {
            for (float w : row) {
                flat[k++] = w;
            }
        }
        InferenceResponse response = InferenceResponse.newBuilder()
                .setRequestId(id)
                .setStatus(ResponseStatus.OK)
                .setOutput(Tensors.f32(out.output(), seqLen, HIDDEN))
                .setTokenExperts(tokenExperts)
                .setTokenWeights(Tensors.f32(flat, choices))
                .setDropped(Arrays.stream(out.assignment().dropped()).boxed().toList())
                .setMissingExperts(List.of())
                .setError(null)
                .setReceivedAtMs(1_000L + offset)
                .setCompletedAtMs(1_010L + offset)
                .setFingerprint(fingerprint)
                .build();
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRequestId(id)
                .setTokens(Tensors.f32(tokens, seqLen, HIDDEN))
                .setDeadlineMs(null)
                .build();
        return CassetteEntry.newBuilder()
                .setRequestId(id)
                .setRequest(request)
                .setRequestPartition(0)
                .setRequestOffset(offset)
                .setRequestTimestampMs(1_000L + offset)
                .setResponse(response)
                .setResponsePartition(0)
                .setResponseOffset(offset)
                .setResponseTimestampMs(1_010L + offset)
                .build();
    }

    /** A copy of the model with every value of one tensor multiplied by {@code factor}. */
    private static Path perturbed(String name, String tensor, float factor) throws Exception {
        Path to = dir.resolve(name);
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(model)) {
            for (Path p : files.toList()) {
                if (!p.getFileName().toString().startsWith(".")) {
                    Files.copy(p, to.resolve(p.getFileName()));
                }
            }
        }
        Path file = to.resolve("model.safetensors");
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
        return to;
    }

    /** The requests whose recorded routing sends some token to {@code expert}. */
    private static Set<String> routedTo(int expert) {
        return entries.stream()
                .filter(e -> e.getResponse().getTokenExperts().stream().anyMatch(t -> t.contains(expert)))
                .map(CassetteEntry::getRequestId)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void theModelTheCassetteWasRecordedWithReproducesItBitForBit() {
        // When the cassette is asserted against the same model with tolerance 0
        ReplayReport report = CassetteAssertions.assertReproduces(model, null, cassette, 0);
        // Then it passes and every request is bit-identical
        assertEquals(REQUESTS, report.count(RequestDiff.Verdict.IDENTICAL), report.summaryLine());
    }

    @Test
    void aPerturbedExpertFailsNamingTheRequestsRoutedToIt() throws Exception {
        // Given a copy of the model with expert 2's down projection scaled by 1.001
        Path other = perturbed("perturbed-expert", "experts." + PERTURBED_EXPERT + ".w2.weight", 1.001f);
        Set<String> expected = routedTo(PERTURBED_EXPERT);
        assertFalse(expected.isEmpty(), "fixture: some requests use the perturbed expert");
        assertTrue(expected.size() < REQUESTS, "fixture: some requests do not");
        // When the cassette is asserted against it
        AssertionFailedError e = assertThrows(
                AssertionFailedError.class, () -> CassetteAssertions.assertReproduces(other, null, cassette, 0));
        // Then the message summarises the replay and names the requests routed to that expert, and no other
        String message = e.getMessage();
        assertTrue(message.contains(expected.size() + " different"), message);
        assertTrue(message.contains("routing changed on 0 tokens"), message);
        assertTrue(message.contains("(another layer)"), message);
        Set<String> named = new TreeSet<>();
        for (String line : message.split("\n")) {
            if (line.startsWith("  DIFFERENT ")) {
                named.add(line.substring("  DIFFERENT ".length(), line.indexOf(':')));
            }
        }
        List<String> first =
                expected.stream().limit(CassetteAssertions.MAX_NAMED).toList();
        assertEquals(new TreeSet<>(first).size(), named.size(), message);
        assertTrue(expected.containsAll(named), message);
        if (expected.size() > CassetteAssertions.MAX_NAMED) {
            assertTrue(message.contains("... and " + (expected.size() - CassetteAssertions.MAX_NAMED) + " more"));
        }
    }

    @Test
    void aPerturbedExpertIsReportedOnExactlyTheTokensRecordedAsRoutedToIt() throws Exception {
        // Given a copy of the model with expert 2's down projection scaled by 1.001, and the (request, token) pairs
        // whose recorded routing includes expert 2, read from the cassette's responses
        Path other = perturbed("perturbed-tokens", "experts." + PERTURBED_EXPERT + ".w2.weight", 1.001f);
        Set<String> expected = new TreeSet<>();
        int recordedTokens = 0;
        for (CassetteEntry e : entries) {
            List<List<Integer>> tokenExperts = e.getResponse().getTokenExperts();
            recordedTokens += tokenExperts.size();
            for (int t = 0; t < tokenExperts.size(); t++) {
                if (tokenExperts.get(t).contains(PERTURBED_EXPERT)) {
                    expected.add(e.getRequestId() + "@" + t);
                }
            }
        }
        assertFalse(expected.isEmpty(), "fixture: some tokens use the perturbed expert");
        assertTrue(expected.size() < recordedTokens, "fixture: some tokens do not");
        // When the cassette is replayed against it at tolerance 0
        ReplayReport report = CassetteAssertions.replay(other, null, cassette, 0, false);
        // Then the tokens reported as differing are exactly those pairs, and the summary counts them
        Set<String> reported = new TreeSet<>();
        for (RequestDiff d : report.diffs()) {
            for (int t : d.tokensDiffering()) {
                reported.add(d.id() + "@" + t);
            }
        }
        assertEquals(expected, reported);
        assertTrue(
                report.summaryLine()
                        .contains("output differs on " + expected.size() + " tokens of "
                                + routedTo(PERTURBED_EXPERT).size() + " requests"),
                report.summaryLine());
    }

    @Test
    void aPerturbationWithinTheToleranceHasTheSameRoutingAndPasses() throws Exception {
        // Given the same perturbed expert, When asserted with a tolerance far above its effect
        Path other = perturbed("perturbed-within", "experts." + PERTURBED_EXPERT + ".w2.weight", 1.001f);
        ReplayReport report = CassetteAssertions.assertReproduces(other, null, cassette, 1.0);
        // Then it passes, the perturbed requests counted as within tolerance, not identical
        assertEquals(routedTo(PERTURBED_EXPERT).size(), report.count(RequestDiff.Verdict.WITHIN_TOLERANCE));
        assertEquals(REQUESTS - routedTo(PERTURBED_EXPERT).size(), report.count(RequestDiff.Verdict.IDENTICAL));
        assertTrue(report.diffs().stream().allMatch(d -> d.tokensDiffering().length == 0), "none beyond it");
    }

    @Test
    void anotherRouterFailsOnRoutingUnlessTheRecordedRoutingIsForced() throws Exception {
        // Given a copy of the model whose router weights are negated (top-2 becomes bottom-2)
        Path other = perturbed("other-router", "gate.weight", -1f);
        // When asserted with the routing recomputed, Then it fails reporting changed routing
        AssertionFailedError e = assertThrows(
                AssertionFailedError.class, () -> CassetteAssertions.assertReproduces(other, null, cassette, 0));
        assertTrue(e.getMessage().contains("routing changed at tokens"), e.getMessage());
        // When asserted with the recorded routing forced, Then every request is bit-identical
        ReplayReport forced = CassetteAssertions.assertReproduces(other, null, cassette, 0, true);
        assertEquals(REQUESTS, forced.count(RequestDiff.Verdict.IDENTICAL), forced.summaryLine());
    }

    @Test
    void aCassetteWithNothingToCompareFails() throws Exception {
        // Given a cassette whose only entry has no recorded response
        Path empty = dir.resolve("unanswered.cassette");
        CassetteEntry unanswered = CassetteEntry.newBuilder(entries.get(0))
                .setResponse(null)
                .setResponsePartition(null)
                .setResponseOffset(null)
                .setResponseTimestampMs(null)
                .build();
        try (CassetteWriter out = CassetteWriter.create(empty, Map.of())) {
            out.append(unanswered);
        }
        // When asserted, Then it fails saying that nothing was compared
        AssertionFailedError e = assertThrows(
                AssertionFailedError.class, () -> CassetteAssertions.assertReproduces(model, null, empty, 0));
        assertTrue(e.getMessage().contains("was compared on no request"), e.getMessage());
    }

    @Test
    void badArgumentsNameWhatIsWrong() {
        // A negative tolerance names the parameter
        IllegalArgumentException tolerance = assertThrows(
                IllegalArgumentException.class, () -> CassetteAssertions.assertReproduces(model, null, cassette, -1));
        assertTrue(tolerance.getMessage().startsWith("tolerance: "), tolerance.getMessage());
        // A missing cassette names the file
        Path missing = dir.resolve("missing.cassette");
        UncheckedIOException io = assertThrows(
                UncheckedIOException.class, () -> CassetteAssertions.assertReproduces(model, null, missing, 0));
        assertTrue(io.getMessage().contains(missing.toString()), io.getMessage());
    }
}
