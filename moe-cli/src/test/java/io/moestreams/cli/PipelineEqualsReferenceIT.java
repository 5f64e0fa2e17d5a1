package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.reference.LayerOutput;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The distributed pipeline (gateway, expert workers, combiner on a real broker and registry) answers exactly like
 * the in-process reference, for every router and overflow policy, on random Mixtral and Switch models.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class PipelineEqualsReferenceIT {

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of("mixtral", "{\"type\": \"topk_softmax\", \"top_k\": 2}", "silu", null, "none"),
                Arguments.of(
                        "mixtral",
                        "{\"type\": \"topk_softmax\", \"top_k\": 2, \"normalize\": false}",
                        "silu",
                        1.0,
                        "drop"),
                Arguments.of("mixtral", "{\"type\": \"topk_softmax\", \"top_k\": 2}", "silu", 1.0, "reroute"),
                Arguments.of("switch", "{\"type\": \"switch\"}", "relu", 1.25, "drop"),
                Arguments.of(
                        "switch", "{\"type\": \"noisy_topk\", \"top_k\": 2, \"noise\": true}", "gelu", 1.5, "reroute"),
                Arguments.of("mixtral", "{\"type\": \"gshard_top2\", \"random_routing\": true}", "silu", 1.5, "drop"),
                Arguments.of("mixtral", "{\"type\": \"expert_choice\", \"top_k\": 2}", "silu", 1.0, "none"));
    }

    @ParameterizedTest(name = "{0} {1} capacity={3} overflow={4}")
    @MethodSource("models")
    void inferEqualsReferenceOnEveryRequest(
            String format, String router, String activation, Double capacity, String overflow, @TempDir Path dir)
            throws Exception {
        // Given a random model and 200 requests of 1..24 tokens, served by one process holding all experts
        int hidden = 16;
        PipelineHarness h = new PipelineHarness();
        Path model = dir.resolve("model");
        PipelineHarness.model(model, format, router, activation, capacity, overflow, hidden, 32, 4, 11);
        List<RequestLine> lines = PipelineHarness.requests(dir, 200, hidden, 1, 24, 5);
        List<LayerOutput> reference = PipelineHarness.reference(model, lines);

        // When they go through Kafka
        Map<String, InferenceClient.Answer> answers;
        try (LocalPipeline pipeline = h.start(model, List.of(Set.of(0, 1, 2, 3)), Map.of());
                InferenceClient client = h.client()) {
            answers = client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(120), n -> {});
            assertTrue(pipeline.gateway().ledger().pendingRequests() == 0, "every request settled");
        }

        // Then every response equals the reference
        assertEquals(lines.size(), answers.size());
        for (int i = 0; i < lines.size(); i++) {
            String id = lines.get(i).id();
            PipelineHarness.assertEqualsReference(
                    id, reference.get(i), Conversions.line(answers.get(id).response()));
        }
    }
}
