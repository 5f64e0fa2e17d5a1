package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.gen.HfCheckpointGenerator;
import io.moestreams.core.gen.HfCheckpointSpec;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.core.testing.CheckpointRewriter;
import io.moestreams.core.testing.NaiveHf;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hugging Face checkpoints through the Kafka pipeline: for every family, a generated 3-shard BF16 checkpoint's MoE
 * layer answers through gateway, expert workers (two processes for the routed experts, each loading only its
 * experts, and a third for the shared expert where the family has one) and combiner exactly like the reference, and
 * like the independent naive implementation of transformers' block (outputs within 1e-5 x max |expected|, same
 * experts and drops; shared experts are never listed).
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class HfPipelineIT {

    static Stream<Arguments> families() {
        return Stream.of(
                Arguments.of("mixtral", "2", false),
                Arguments.of("qwen3_moe", "1", false),
                Arguments.of("olmoe", "3", false),
                Arguments.of("switch_transformers", "encoder.1", false),
                Arguments.of("granitemoe", "2", false),
                Arguments.of("gpt_oss", "1", false),
                Arguments.of("deepseek_v3", "2", false),
                Arguments.of("deepseek_v3", "2", true),
                Arguments.of("deepseek_v2", "1", true),
                Arguments.of("qwen2_moe", "1", true));
    }

    @ParameterizedTest(name = "{0} layer {1}, shared expert {2}")
    @MethodSource("families")
    void inferEqualsReferenceAndTheNaiveBlock(String family, String layer, boolean shared, @TempDir Path dir)
            throws Exception {
        // Given a generated checkpoint (with or without its shared expert) and requests
        int hidden = 32;
        Path model = dir.resolve("ckpt");
        HfCheckpointGenerator.generate(model, HfCheckpointSpec.demo(family, 17).withSizes(hidden, 48, 8, 2));
        if (family.startsWith("deepseek") && !shared) {
            CheckpointRewriter.putConfig(model, "n_shared_experts", 0);
        }
        assertEquals(shared ? 1 : 0, MoeModel.readConfig(model, layer).numSharedExperts(), "shared experts");
        List<RequestLine> lines = PipelineHarness.requests(dir, 40, hidden, 1, 16, 9);
        List<LayerOutput> reference = PipelineHarness.reference(model, layer, lines);

        // When they go through Kafka, served by two expert processes (and one for the shared expert)
        PipelineHarness h = new PipelineHarness();
        Map<String, InferenceClient.Answer> answers;
        List<String> groups = shared ? List.of("0-3", "4-7", "shared") : List.of("0-3", "4-7");
        try (LocalPipeline pipeline = h.startSpecs(model, layer, groups, Map.of());
                InferenceClient client = h.client()) {
            answers = client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(120), n -> {});
            assertEquals(0, pipeline.gateway().ledger().pendingRequests(), "every request settled");
        }

        // Then every response equals the reference and the naive block of transformers
        assertEquals(lines.size(), answers.size());
        int dropped = 0;
        for (int i = 0; i < lines.size(); i++) {
            RequestLine l = lines.get(i);
            ResponseLine got = Conversions.line(answers.get(l.id()).response());
            PipelineHarness.assertEqualsReference(l.id(), reference.get(i), got);
            float[][] tokens = new float[l.seqLen()][hidden];
            for (int t = 0; t < l.seqLen(); t++) {
                System.arraycopy(l.tokens(), t * hidden, tokens[t], 0, hidden);
            }
            NaiveHf.Result want = NaiveHf.forward(model, layer, tokens);
            double max = 0;
            double diff = 0;
            for (int t = 0; t < l.seqLen(); t++) {
                assertArrayEquals(want.experts()[t], got.experts()[t], l.id() + " token " + t);
                for (int j = 0; j < hidden; j++) {
                    max = Math.max(max, Math.abs(want.output()[t][j]));
                    diff = Math.max(diff, Math.abs(want.output()[t][j] - got.output()[t * hidden + j]));
                }
            }
            assertArrayEquals(want.dropped(), got.dropped(), l.id() + " dropped");
            dropped += got.dropped().length;
            assertTrue(diff <= 1e-5 * max, l.id() + ": max |diff| " + diff + " > 1e-5 x " + max);
        }
        if (family.equals("switch_transformers")) {
            assertTrue(dropped > 0, "expert_capacity 4 drops tokens of the 16-token requests");
        }
    }
}
