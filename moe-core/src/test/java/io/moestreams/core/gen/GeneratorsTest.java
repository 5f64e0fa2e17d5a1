package io.moestreams.core.gen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.jsonl.RequestJsonlReader;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.model.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GeneratorsTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({
        "MIXTRAL, TOPK_SOFTMAX, F32, model.layers.0.block_sparse_moe.",
        "SWITCH, SWITCH, BF16, encoder.block.1.layer.1.mlp.",
        "MIXTRAL, NOISY_TOPK, F16, ''"
    })
    void generatedModelsLoadWithTheRealTensorNamesAndDtype(
            ModelFormat format, RouterType type, String dtype, String prefix) throws IOException {
        // Given / When a model is generated
        int topK = type == RouterType.SWITCH ? 1 : 2;
        MoeConfig config = ModelGenerator.generate(
                dir,
                format,
                8,
                16,
                3,
                new RouterConfig(type, topK, true, type == RouterType.NOISY_TOPK, false),
                1.25,
                Overflow.REROUTE,
                Activation.GELU,
                dtype,
                77,
                prefix);
        // Then moe.json holds the config and the file has the expected names, all in the requested dtype
        assertEquals(config, MoeConfigJson.read(dir.resolve("moe.json")));
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            List<String> expected = new ArrayList<>();
            expected.add(prefix + (format == ModelFormat.SWITCH ? "router.classifier.weight" : "gate.weight"));
            if (type == RouterType.NOISY_TOPK) {
                expected.add(prefix + "noise.weight");
            }
            for (int e = 0; e < 3; e++) {
                if (format == ModelFormat.SWITCH) {
                    expected.add(prefix + "experts.expert_" + e + ".wi.weight");
                    expected.add(prefix + "experts.expert_" + e + ".wo.weight");
                } else {
                    expected.add(prefix + "experts." + e + ".w1.weight");
                    expected.add(prefix + "experts." + e + ".w3.weight");
                    expected.add(prefix + "experts." + e + ".w2.weight");
                }
            }
            assertEquals(expected, List.copyOf(st.names()));
            for (String name : st.names()) {
                assertEquals(SafetensorsDtype.valueOf(dtype), st.info(name).dtype(), name);
            }
        }
        assertEquals(3, MoeModel.readConfig(dir, null).numExperts());
    }

    @Test
    void weightsAreNormalWithStandardDeviationOneOverSqrtFanIn() throws IOException {
        // Given a model with d = 64, f = 256
        ModelGenerator.generateMixtral(dir, 64, 256, 2, 5);
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            // When the w1 [f, d] and w2 [d, f] statistics are measured
            double[] w1 = moments(st.readF32("experts.0.w1.weight"));
            double[] w2 = moments(st.readF32("experts.1.w2.weight"));
            // Then mean ~ 0 and std ~ 1/sqrt(fan_in) (16384 samples: a few percent)
            assertEquals(0.0, w1[0], 0.005);
            assertEquals(1 / Math.sqrt(64), w1[1], 0.03 / Math.sqrt(64));
            assertEquals(0.0, w2[0], 0.003);
            assertEquals(1 / Math.sqrt(256), w2[1], 0.03 / Math.sqrt(256));
        }
    }

    @Test
    void sameArgumentsGiveIdenticalFilesAndAnotherSeedDiffers() throws IOException {
        // Given / When the same model is generated twice and once with another seed
        ModelGenerator.generateMixtral(dir.resolve("a"), 8, 8, 2, 1);
        ModelGenerator.generateMixtral(dir.resolve("b"), 8, 8, 2, 1);
        ModelGenerator.generateMixtral(dir.resolve("c"), 8, 8, 2, 2);
        // Then the first two are byte-identical, the third is not
        byte[] a = Files.readAllBytes(dir.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(dir.resolve("b/model.safetensors")));
        assertTrue(!Arrays.equals(a, Files.readAllBytes(dir.resolve("c/model.safetensors"))));
    }

    @Test
    void rejectsAnUnknownDtype() {
        // Given / When / Then
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> ModelGenerator.generate(
                        dir,
                        ModelFormat.MIXTRAL,
                        4,
                        4,
                        2,
                        new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false),
                        null,
                        Overflow.NONE,
                        Activation.SILU,
                        "F64",
                        1,
                        ""));
        assertEquals("dtype: expected one of F32, F16, BF16, found F64", e.getMessage());
    }

    @Test
    void requestFilesHaveSequentialIdsLengthsInRangeAndStandardNormalValues() throws IOException {
        // Given / When 40 requests of 2..9 tokens are generated
        Path file = dir.resolve("in.jsonl");
        RequestGenerator.generate(file, 40, 16, 2, 9, 3);
        // Then they read back with ids r0..r39, lengths in range (both ends seen), values ~ N(0, 1)
        List<Float> all = new ArrayList<>();
        int minSeen = Integer.MAX_VALUE;
        int maxSeen = 0;
        try (RequestJsonlReader r = RequestJsonlReader.open(file, 16)) {
            for (int i = 0; i < 40; i++) {
                RequestLine line = r.next();
                assertEquals("r" + i, line.id());
                assertTrue(line.seqLen() >= 2 && line.seqLen() <= 9, "length " + line.seqLen());
                minSeen = Math.min(minSeen, line.seqLen());
                maxSeen = Math.max(maxSeen, line.seqLen());
                for (float v : line.tokens()) {
                    all.add(v);
                }
            }
            assertNull(r.next());
        }
        assertEquals(2, minSeen);
        assertEquals(9, maxSeen);
        float[] values = new float[all.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = all.get(i);
        }
        double[] m = moments(values);
        assertEquals(0.0, m[0], 0.1);
        assertEquals(1.0, m[1], 0.1);
        // And the same seed reproduces the file
        Path again = dir.resolve("again.jsonl");
        RequestGenerator.generate(again, 40, 16, 2, 9, 3);
        assertEquals(Files.readString(file), Files.readString(again));
    }

    private static double[] moments(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += x;
        }
        double mean = sum / v.length;
        double sq = 0;
        for (float x : v) {
            sq += (x - mean) * (x - mean);
        }
        return new double[] {mean, Math.sqrt(sq / (v.length - 1))};
    }
}
