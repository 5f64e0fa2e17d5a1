package io.moestreams.core.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.gen.HfCheckpointGenerator;
import io.moestreams.core.gen.HfCheckpointSpec;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.core.reference.ReferenceMoeLayer;
import io.moestreams.core.testing.CheckpointRewriter;
import io.moestreams.core.testing.NaiveHf;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every family's MoE block, loaded from a generated sharded BF16 checkpoint (other layers, attention tensors and
 * dense layers present; transformers 4.x and 5.x config keys) and computed by {@link ReferenceMoeLayer} with the
 * ND4J backend, equals the independent naive double implementation {@link NaiveHf}: max |diff| <= 1e-5 x max
 * |expected| per request, the same experts per token and the same dropped positions.
 */
class HfReferenceTest {

    private static final int[] LENGTHS = {1, 5, 16};

    @TempDir
    Path dir;

    static Stream<Arguments> families() {
        List<Arguments> args = new ArrayList<>();
        for (String family : HfFamilies.modelTypes()) {
            String layer = family.equals("switch_transformers") ? "encoder.1" : "1";
            args.add(Arguments.of(family, layer, false));
            args.add(Arguments.of(family, family.equals("switch_transformers") ? "decoder.3" : "3", true));
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0} layer {1}, v4 keys {2}")
    @MethodSource("families")
    void referenceEqualsTheNaiveBlockOfTransformers(String family, String layer, boolean v4Keys) throws IOException {
        // Given a sharded BF16 checkpoint of the family
        HfCheckpointSpec spec = HfCheckpointSpec.demo(family, 7).withV4Keys(v4Keys);
        HfCheckpointGenerator.generate(dir, spec);
        // When the layer runs in the reference, Then it equals the naive block
        assertReferenceEqualsNaive(layer, 11);
    }

    @Test
    void mxfp4ExpertsOfGptOssAreDequantizedAtLoad() throws IOException {
        // Given a gpt_oss checkpoint whose experts are stored as MXFP4 blocks and scales (as released)
        HfCheckpointSpec spec = HfCheckpointSpec.demo("gpt_oss", 3).withSizes(64, 64, 8, 4);
        HfCheckpointGenerator.generate(dir, spec);
        CheckpointRewriter.rewrite(dir, (name, info, bytes, values) -> {
            long[] s = info.shape();
            if (name.endsWith("mlp.experts.gate_up_proj") || name.endsWith("mlp.experts.down_proj")) {
                // parameter [E, in, out] is quantized per output row along 'in': store [E, out, in]
                int e = (int) s[0];
                int in = (int) s[1];
                int out = (int) s[2];
                double[] t = new double[values.length];
                for (int x = 0; x < e; x++) {
                    for (int i = 0; i < in; i++) {
                        for (int o = 0; o < out; o++) {
                            t[(x * out + o) * in + i] = values[(x * in + i) * out + o];
                        }
                    }
                }
                return CheckpointRewriter.mxfp4(name, t, e, out, in);
            }
            return CheckpointRewriter.keep(name, info, bytes);
        });
        // When / Then
        assertReferenceEqualsNaive("1", 5);
        try (MoeModel m = MoeModel.load(dir, "1", ExpertSelection.of(2), Nd4jBackend.INSTANCE)) {
            assertTrue(
                    m.tensorsRead().contains("model.layers.1.mlp.experts.gate_up_proj_blocks"),
                    m.tensorsRead().toString());
        }
    }

    @Test
    void fp8BlockScaledExpertsOfDeepseekV3AreDequantizedAtLoad() throws IOException {
        // Given a deepseek_v3 checkpoint whose routed and shared expert weights are F8_E4M3 with 32 x 32 block
        // scales (F32 weight_scale_inv) while the router stays BF16 and its correction bias F32
        HfCheckpointSpec spec = HfCheckpointSpec.demo("deepseek_v3", 5).withSizes(64, 80, 16, 4);
        HfCheckpointGenerator.generate(dir, spec);
        CheckpointRewriter.rewrite(dir, (name, info, bytes, values) -> {
            long[] s = info.shape();
            boolean expert = name.contains(".mlp.experts.") || name.contains(".mlp.shared_experts.");
            if (expert && name.endsWith("_proj.weight")) {
                return CheckpointRewriter.fp8(name, values, (int) s[0], (int) s[1], 32, 32);
            }
            return CheckpointRewriter.keep(name, info, bytes);
        });
        CheckpointRewriter.putConfig(
                dir,
                "quantization_config",
                Map.of("quant_method", "fp8", "fmt", "e4m3", "weight_block_size", List.of(32, 32)));
        // When / Then (f = 80 is not a multiple of 32: the last block is partial, as DeepSeek's code allows)
        assertReferenceEqualsNaive("2", 9);
    }

    private void assertReferenceEqualsNaive(String layer, long seed) {
        try (MoeModel model = MoeModel.load(dir, layer, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer reference = new ReferenceMoeLayer(model);
            int d = model.config().hiddenSize();
            SplittableRandom random = new SplittableRandom(seed);
            for (int s : LENGTHS) {
                float[][] tokens = new float[s][d];
                float[] flat = new float[s * d];
                for (int t = 0; t < s; t++) {
                    for (int i = 0; i < d; i++) {
                        tokens[t][i] = (float) random.nextGaussian();
                        flat[t * d + i] = tokens[t][i];
                    }
                }
                LayerOutput got = reference.forward("r" + s, flat, s);
                NaiveHf.Result want = NaiveHf.forward(dir, layer, tokens);
                double max = 0;
                double diff = 0;
                for (int t = 0; t < s; t++) {
                    assertArrayEquals(want.experts()[t], got.assignment().experts()[t], "experts of token " + t);
                    for (int i = 0; i < d; i++) {
                        max = Math.max(max, Math.abs(want.output()[t][i]));
                        diff = Math.max(diff, Math.abs(want.output()[t][i] - got.output()[t * d + i]));
                    }
                }
                assertArrayEquals(want.dropped(), got.assignment().dropped(), "dropped");
                assertTrue(max > 0, "the block output is not all zeros");
                assertTrue(diff <= 1e-5 * max, "S=" + s + ": max |diff| " + diff + " > 1e-5 x " + max);
            }
        }
    }
}
