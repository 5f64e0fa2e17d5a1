package io.moestreams.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.numerics.HalfFloats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MoeModelTest {

    private static final int D = 8;
    private static final int F = 12;
    private static final int E = 4;

    @TempDir
    Path dir;

    private static MoeConfig config(ModelFormat format, RouterType type, int topK, String prefix) {
        return new MoeConfig(
                format,
                prefix,
                D,
                F,
                E,
                new RouterConfig(type, topK, true, type == RouterType.NOISY_TOPK, false),
                Activation.SILU,
                null,
                Overflow.NONE,
                1);
    }

    /** Writes moe.json and a model.safetensors of random F32 tensors; {@code edit} may drop (null) or reshape. */
    private static void writeModel(
            Path modelDir, MoeConfig config, List<ModelTensors.Expected> extra, UnaryOperator<TensorSpec> edit)
            throws IOException {
        MoeConfigJson.writeTo(modelDir, config);
        List<ModelTensors.Expected> all = new ArrayList<>();
        all.add(ModelTensors.gate(config));
        all.addAll(extra);
        for (int e = 0; e < config.numExperts(); e++) {
            all.addAll(ModelTensors.expert(config, e));
        }
        SplittableRandom random = new SplittableRandom(3);
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        for (ModelTensors.Expected t : all) {
            TensorSpec spec = edit.apply(new TensorSpec(t.name(), SafetensorsDtype.F32, t.shape()));
            if (spec == null) {
                continue;
            }
            float[] values = new float[(int) spec.numElements()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextGaussian();
            }
            tensors.add(new SafetensorsWriter.Tensor(spec, values));
        }
        SafetensorsWriter.write(modelDir.resolve(MoeModel.WEIGHTS_FILE), tensors, null);
    }

    @Test
    void loadsAGeneratedMixtralModelWithEveryExpert() throws IOException {
        // Given a generated mixtral model with a tensor prefix
        MoeConfig config = ModelGenerator.generate(
                dir,
                ModelFormat.MIXTRAL,
                D,
                F,
                E,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false),
                1.5,
                Overflow.DROP,
                Activation.GELU,
                "F32",
                9,
                "model.layers.0.block_sparse_moe.");
        // When loaded
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            // Then config, router and all experts are there
            assertEquals(config, model.config());
            assertArrayEquals(new int[] {0, 1, 2, 3}, model.loadedExperts());
            assertEquals(E, model.router().numExperts());
            assertEquals(D, model.router().hiddenSize());
            assertEquals(D, model.expert(3).hiddenSize());
            assertEquals(3, model.expert(3).expertId());
            assertEquals(1 + 3 * E, model.tensorsRead().size());
            assertTrue(model.tensorsRead().contains("model.layers.0.block_sparse_moe.experts.2.w3.weight"));
        }
    }

    @Test
    void loadsSwitchAndNoisyModelsInHalfPrecision() throws IOException {
        // Given a switch model in BF16 and a noisy top-k model (with noise.weight) in F16
        Path sw = dir.resolve("switch");
        Path noisy = dir.resolve("noisy");
        ModelGenerator.generate(
                sw,
                ModelFormat.SWITCH,
                D,
                F,
                E,
                new RouterConfig(RouterType.SWITCH, 1, true, false, false),
                1.0,
                Overflow.REROUTE,
                Activation.RELU,
                "BF16",
                2,
                "");
        ModelGenerator.generate(
                noisy,
                ModelFormat.MIXTRAL,
                D,
                F,
                E,
                new RouterConfig(RouterType.NOISY_TOPK, 2, true, true, false),
                null,
                Overflow.NONE,
                Activation.SILU,
                "F16",
                2,
                "");
        // When loaded
        try (MoeModel s = MoeModel.load(sw, ExpertSelection.all(), Nd4jBackend.INSTANCE);
                MoeModel n = MoeModel.load(noisy, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            // Then both load; switch names are read; noise.weight is read for noisy_topk; weights are F16-exact
            assertTrue(s.tensorsRead().contains("router.classifier.weight"));
            assertTrue(s.tensorsRead().contains("experts.expert_3.wo.weight"));
            assertNull(s.noiseWeight());
            assertNotNull(n.noiseWeight());
            for (float v : n.gateWeight()) {
                assertEquals(v, HalfFloats.f16ToFloat(HalfFloats.floatToF16(v)));
            }
            for (float v : s.gateWeight()) {
                assertEquals(v, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v)));
            }
        }
    }

    @Test
    void noisyTopKWithoutNoiseWeightLoadsOnlyWhenNoiseIsOff() throws IOException {
        // Given noisy_topk models whose files have no noise.weight, one with noise off and one with noise on
        MoeConfig on = config(ModelFormat.MIXTRAL, RouterType.NOISY_TOPK, 2, "");
        MoeConfig off = new MoeConfig(
                on.format(),
                "",
                D,
                F,
                E,
                new RouterConfig(RouterType.NOISY_TOPK, 2, true, false, false),
                Activation.SILU,
                null,
                Overflow.NONE,
                1);
        Path offDir = dir.resolve("off");
        Path onDir = dir.resolve("on");
        writeModel(offDir, off, List.of(), t -> t);
        writeModel(onDir, on, List.of(), t -> t);
        // When loaded / Then noise off builds the router without it, noise on names the missing tensor
        try (MoeModel model = MoeModel.load(offDir, ExpertSelection.none())) {
            assertNull(model.noiseWeight());
            assertEquals(E, model.router().numExperts());
        }
        ModelConfigException e =
                assertThrows(ModelConfigException.class, () -> MoeModel.load(onDir, ExpertSelection.none()));
        assertEquals("noise.weight", e.field());
    }

    @Test
    void subsetLoadingReadsOnlyTheSelectedExpertsBytes() throws IOException {
        // Given a model whose expert 0 bytes are overwritten with 0xFF (NaN in F32)
        ModelGenerator.generateMixtral(dir, D, F, E, 4);
        Path weights = dir.resolve(MoeModel.WEIGHTS_FILE);
        long dataStart;
        TensorInfo w1;
        try (SafetensorsFile st = SafetensorsFile.open(weights)) {
            w1 = st.info("experts.0.w1.weight");
            dataStart = Files.size(weights) - st.dataSize();
        }
        try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.WRITE)) {
            byte[] ff = new byte[(int) w1.byteLength()];
            Arrays.fill(ff, (byte) 0xFF);
            ch.write(ByteBuffer.wrap(ff), dataStart + w1.begin());
        }
        // When all experts are loaded / Then the corrupt tensor is found and named
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        assertEquals("experts.0.w1.weight", e.field());
        assertTrue(e.getMessage().contains("expected finite values, found NaN at element [0, 0]"), e.getMessage());
        // And loading only experts 1 and 3 succeeds, reading only the gate and their tensors
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.of(3, 1), Nd4jBackend.INSTANCE)) {
            assertArrayEquals(new int[] {1, 3}, model.loadedExperts());
            assertEquals(
                    List.of(
                            "gate.weight",
                            "experts.1.w1.weight",
                            "experts.1.w3.weight",
                            "experts.1.w2.weight",
                            "experts.3.w1.weight",
                            "experts.3.w3.weight",
                            "experts.3.w2.weight"),
                    model.tensorsRead());
            IllegalArgumentException notLoaded = assertThrows(IllegalArgumentException.class, () -> model.expert(0));
            assertTrue(notLoaded.getMessage().contains("expert 0 is not loaded"), notLoaded.getMessage());
        }
        // And the gateway's router-only load reads only the gate
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.none())) {
            assertEquals(0, model.loadedExperts().length);
            assertEquals(List.of("gate.weight"), model.tensorsRead());
        }
    }

    @Test
    void subsetLoadingIgnoresAnotherExpertsMissingOrMisshapenTensors() throws IOException {
        // Given a model where expert 2 has a wrong-shaped w2 and no w3
        MoeConfig config = config(ModelFormat.MIXTRAL, RouterType.TOPK_SOFTMAX, 2, "");
        writeModel(
                dir,
                config,
                List.of(),
                t -> t.name().equals("experts.2.w3.weight")
                        ? null
                        : t.name().equals("experts.2.w2.weight")
                                ? new TensorSpec(t.name(), t.dtype(), new long[] {F, D})
                                : t);
        // When expert 1 alone is loaded / Then it works
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.of(1), Nd4jBackend.INSTANCE)) {
            assertArrayEquals(new int[] {1}, model.loadedExperts());
        }
        // And loading expert 2 names the problem (shapes are validated before any data is read)
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.of(2), Nd4jBackend.INSTANCE));
        assertEquals("experts.2.w3.weight", e.field());
        assertTrue(e.getMessage().contains("missing tensor"), e.getMessage());
        assertTrue(e.getMessage().contains("experts.2.w1.weight"), "lists nearby tensors: " + e.getMessage());
    }

    @Test
    void shapeMismatchNamesExpectedAndFound() throws IOException {
        // Given a switch model whose expert_1.wo is [f, d] instead of [d, f]
        MoeConfig config = config(ModelFormat.SWITCH, RouterType.SWITCH, 1, "enc.");
        writeModel(
                dir,
                config,
                List.of(),
                t -> t.name().equals("enc.experts.expert_1.wo.weight")
                        ? new TensorSpec(t.name(), t.dtype(), new long[] {F, D})
                        : t);
        // When loaded / Then
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        assertEquals("enc.experts.expert_1.wo.weight: expected shape [8, 12], found shape [12, 8]", e.getMessage());
    }

    @Test
    void missingGateIsNamedWithThePrefixContents() throws IOException {
        // Given a model written without its gate
        MoeConfig config = config(ModelFormat.MIXTRAL, RouterType.TOPK_SOFTMAX, 2, "layer.");
        writeModel(dir, config, List.of(), t -> t.name().equals("layer.gate.weight") ? null : t);
        // When loaded even router-only / Then the gate is named and the prefix's tensors listed
        ModelConfigException e =
                assertThrows(ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.none()));
        assertEquals("layer.gate.weight", e.field());
        assertTrue(e.getMessage().contains("tensors under 'layer.'"), e.getMessage());
    }

    @Test
    void noiseWeightOfTheWrongShapeIsAnError() throws IOException {
        // Given a noisy model whose noise.weight is [E, d+1]
        MoeConfig config = config(ModelFormat.MIXTRAL, RouterType.NOISY_TOPK, 2, "");
        writeModel(
                dir,
                config,
                List.of(ModelTensors.noise(config)),
                t -> t.name().equals("noise.weight") ? new TensorSpec(t.name(), t.dtype(), new long[] {E, D + 1}) : t);
        // When loaded / Then
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        assertEquals("noise.weight: expected shape [4, 8], found shape [4, 9]", e.getMessage());
    }

    @Test
    void badMoeJsonIsReportedByTheLoader() throws IOException {
        // Given a valid model directory
        ModelGenerator.generateMixtral(dir, D, F, E, 1);
        Path json = dir.resolve(MoeConfigJson.FILE_NAME);
        String good = Files.readString(json);
        // When moe.json gets an unknown key / top_k > num_experts / a wrong type / goes missing
        Files.writeString(json, good.replace("\"seed\"", "\"sead\""));
        ModelConfigException unknown = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        Files.writeString(json, good.replace("\"top_k\" : 2", "\"top_k\" : 5"));
        ModelConfigException topK = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        Files.writeString(json, good.replace("\"hidden_size\" : 8", "\"hidden_size\" : \"8\""));
        ModelConfigException type = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        Files.delete(json);
        ModelConfigException missing = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        // Then each error names the key
        assertEquals("sead", unknown.field());
        assertEquals("router.top_k: expected at most num_experts (4), found 5", topK.getMessage());
        assertEquals("hidden_size: expected an integer, found string \"8\"", type.getMessage());
        assertTrue(missing.getMessage().contains("file not found"), missing.getMessage());
    }

    @Test
    void configAndWeightsThatDisagreeAreAnError() throws IOException {
        // Given a model whose moe.json claims a larger hidden size than the weights have
        ModelGenerator.generateMixtral(dir, D, F, E, 1);
        Path json = dir.resolve(MoeConfigJson.FILE_NAME);
        Files.writeString(json, Files.readString(json).replace("\"hidden_size\" : 8", "\"hidden_size\" : 16"));
        // When loaded / Then the gate's shape mismatch is reported
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        assertEquals("gate.weight: expected shape [4, 16], found shape [4, 8]", e.getMessage());
    }

    @Test
    void truncatedWeightsFileIsAnError() throws IOException {
        // Given a model whose safetensors lost its last bytes
        ModelGenerator.generateMixtral(dir, D, F, E, 1);
        Path weights = dir.resolve(MoeModel.WEIGHTS_FILE);
        try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 10);
        }
        // When loaded / Then the last tensor is named and the file called truncated
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.of(0), Nd4jBackend.INSTANCE));
        assertEquals("experts.3.w2.weight", e.field());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void unknownDtypeInTheModelFileIsAnError() throws IOException {
        // Given a model file whose gate is stored with an unknown dtype (patched in the header, same length)
        ModelGenerator.generateMixtral(dir, D, F, E, 1);
        Path weights = dir.resolve(MoeModel.WEIGHTS_FILE);
        byte[] bytes = Files.readAllBytes(weights);
        int headerLen =
                (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(bytes, 8, headerLen, StandardCharsets.US_ASCII);
        int at = header.indexOf("\"F32\"", header.indexOf("gate.weight"));
        bytes[8 + at + 1] = 'X';
        Files.write(weights, bytes);
        // When loaded / Then the tensor and dtype are named
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE));
        assertEquals("gate.weight", e.field());
        assertTrue(e.getMessage().contains("unknown dtype X32"), e.getMessage());
    }

    @Test
    void expertIdsOutOfRangeNameTheIdAndTheExpertCount() throws IOException {
        // Given a 4-expert model
        ModelGenerator.generateMixtral(dir, D, F, E, 1);
        // When expert 4 is selected or asked for / Then id and E are named
        IllegalArgumentException select = assertThrows(
                IllegalArgumentException.class,
                () -> MoeModel.load(dir, ExpertSelection.of(1, 4), Nd4jBackend.INSTANCE));
        assertEquals("expert id 4 is out of range: the model has num_experts = 4 (ids 0..3)", select.getMessage());
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.of(0), Nd4jBackend.INSTANCE)) {
            IllegalArgumentException ask = assertThrows(IllegalArgumentException.class, () -> model.expert(-1));
            assertTrue(ask.getMessage().contains("expert id -1 is out of range"), ask.getMessage());
        }
    }

    @Test
    void expertSelectionParsesListsRangesAllAndNone() {
        // Given / When / Then
        assertEquals(ExpertSelection.all(), ExpertSelection.parse("all"));
        assertEquals(ExpertSelection.none(), ExpertSelection.parse(" NONE "));
        assertEquals(List.of(0, 1, 5), ExpertSelection.parse("5,0,1,1").ids());
        assertEquals(List.of(0, 1, 2, 3, 6), ExpertSelection.parse("0-3,6").ids());
        assertArrayEquals(new int[] {0, 1, 2}, ExpertSelection.all().resolve(3));
        assertEquals(0, ExpertSelection.none().resolve(3).length);
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ExpertSelection.parse("1,x"));
        assertTrue(bad.getMessage().contains("'x'"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ExpertSelection.of(-1));
    }
}
