package io.moestreams.core.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.ffn.GatedMlpWeights;
import io.moestreams.core.gen.HfCheckpointGenerator;
import io.moestreams.core.gen.HfCheckpointSpec;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.testing.CheckpointRewriter;
import io.moestreams.core.testing.NaiveCheckpoint;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hugging Face checkpoint directories: layer selection, what is read, and a clear error naming the file, tensor
 * or key for every kind of broken checkpoint.
 */
class HfCheckpointTest {

    @TempDir
    Path dir;

    private void generate(String family) throws IOException {
        HfCheckpointGenerator.generate(dir, HfCheckpointSpec.demo(family, 1));
    }

    private static ModelConfigException routerLoadFails(Path dir, String layer) {
        return assertThrows(
                ModelConfigException.class,
                () -> MoeModel.load(dir, layer, ExpertSelection.none(), null).close());
    }

    @Test
    void aWorkerReadsOnlyTheRouterAndItsExpertsBytes() throws IOException {
        // Given a 3-shard qwen2_moe checkpoint (dense layer 0, sparse layers 1-3, shared experts)
        generate("qwen2_moe");
        RecordingBackend backend = new RecordingBackend();
        // When a worker loads expert 3 and the shared expert of layer 2
        try (MoeModel m = MoeModel.load(dir, "2", ExpertSelection.parse("3,s0"), backend)) {
            // Then it read the router, gate and the two experts' tensors, nothing of other layers or experts
            List<String> read = m.tensorsRead();
            assertTrue(read.contains("model.layers.2.mlp.gate.weight"), read.toString());
            assertTrue(read.contains("model.layers.2.mlp.shared_expert_gate.weight"), read.toString());
            assertTrue(read.contains("model.layers.2.mlp.experts.3.up_proj.weight"), read.toString());
            assertTrue(read.contains("model.layers.2.mlp.shared_expert.down_proj.weight"), read.toString());
            assertEquals(2 + 3 + 3, read.size(), read.toString());
            assertTrue(read.stream().allMatch(n -> n.startsWith("model.layers.2.")), read.toString());
            // and exactly their bytes (BF16)
            int d = 64;
            int f = 96;
            long expected = 2L * (8 * d + d) + 2L * 3 * d * f + 2L * 3 * d * (2 * f);
            assertEquals(expected, m.bytesRead());
            assertEquals(1, m.numSharedExperts());
            assertEquals(2, backend.built.size());
            GatedMlpWeights shared = (GatedMlpWeights) backend.built.get(1);
            assertTrue(shared.ref().shared());
            assertEquals(2 * f, shared.intermediateSize());
        }
    }

    @Test
    void fusedExpertSlicesAreReadWithoutTheOtherExperts() throws IOException {
        // Given a granitemoe checkpoint (input_linear [E, 2f, d] and output_linear [E, d, f] hold all experts)
        generate("granitemoe");
        // When expert 5 alone is loaded
        RecordingBackend backend = new RecordingBackend();
        try (MoeModel m = MoeModel.load(dir, "1", ExpertSelection.of(5), backend)) {
            // Then only 1/8 of each fused tensor was read, and the slice equals rows 5 of the stored tensors
            int d = 64;
            int f = 96;
            assertEquals(2L * 8 * d + 2L * (2 * f * d + d * f), m.bytesRead());
            GatedMlpWeights w = (GatedMlpWeights) backend.built.get(0);
            try (NaiveCheckpoint c = new NaiveCheckpoint(dir)) {
                double[] in = c.tensor("model.layers.1.block_sparse_moe.input_linear.weight");
                double[] out = c.tensor("model.layers.1.block_sparse_moe.output_linear.weight");
                int base = 5 * 2 * f * d;
                assertEquals(in[base], w.gate()[0]);
                assertEquals(in[base + f * d + 7], w.up()[7]);
                assertEquals(out[5 * d * f + 3], w.down()[3]);
            }
        }
    }

    @Test
    void configKeysOfTransformers4And5ReadAlike() throws IOException {
        // Given the same qwen3_moe checkpoint written with 5.x (num_local_experts, dtype) and 4.x keys
        HfCheckpointGenerator.generate(dir.resolve("v5"), HfCheckpointSpec.demo("qwen3_moe", 1));
        HfCheckpointGenerator.generate(
                dir.resolve("v4"), HfCheckpointSpec.demo("qwen3_moe", 1).withV4Keys(true));
        String v5 = Files.readString(dir.resolve("v5/config.json"));
        String v4 = Files.readString(dir.resolve("v4/config.json"));
        assertTrue(v5.contains("\"num_local_experts\"") && v5.contains("\"dtype\""), v5);
        assertTrue(v4.contains("\"num_experts\"") && v4.contains("\"torch_dtype\""), v4);
        // When their configurations are read, Then they agree
        assertEquals(MoeModel.readConfig(dir.resolve("v5"), "1"), MoeModel.readConfig(dir.resolve("v4"), "1"));
    }

    @Test
    void sparseLayersFollowEachFamilysRule() throws IOException {
        generate("deepseek_v3");
        try (HfCheckpoint c = HfCheckpoint.open(dir)) {
            assertEquals("1-3", c.sparseLayers());
        }
        HfConfig qwen = HfConfig.parse("{\"model_type\":\"qwen2_moe\",\"num_hidden_layers\":8,\"num_experts\":4,"
                + "\"decoder_sparse_step\":2,\"mlp_only_layers\":[5]}");
        assertEquals(
                List.of("1", "3", "7"),
                HfFamilies.forModelType("qwen2_moe").layers(qwen).stream()
                        .filter(HfLayer::sparse)
                        .map(HfLayer::name)
                        .toList());
        // switch_transformers recomputes the step from num_sparse_*_layers; 0 sparse layers still makes block 1
        // sparse (transformers' "hack": step = num_layers, i % num_layers == 1)
        HfConfig sw = HfConfig.parse("{\"model_type\":\"switch_transformers\",\"num_layers\":6,"
                + "\"num_sparse_encoder_layers\":3,\"num_decoder_layers\":4,\"num_sparse_decoder_layers\":0,"
                + "\"encoder_sparse_step\":1}");
        assertEquals(
                List.of("encoder.1", "encoder.3", "encoder.5", "decoder.1"),
                HfFamilies.forModelType("switch_transformers").layers(sw).stream()
                        .filter(HfLayer::sparse)
                        .map(HfLayer::name)
                        .toList());
    }

    @Test
    void aDenseUnknownOrMissingLayerIsRefusedWithTheSparseLayers() throws IOException {
        generate("deepseek_v2");
        ModelConfigException dense = routerLoadFails(dir, "0");
        assertEquals(
                "moe.model.layer (--layer): layer 0 of this deepseek_v2 checkpoint is dense (no MoE block); its"
                        + " sparse layers: 1-3",
                dense.getMessage());
        ModelConfigException missing = routerLoadFails(dir, null);
        assertTrue(
                missing.getMessage()
                        .startsWith("moe.model.layer (--layer): required for a Hugging Face"
                                + " checkpoint (deepseek_v2 in "),
                missing.getMessage());
        assertTrue(missing.getMessage().endsWith("its sparse layers: 1-3"), missing.getMessage());
        ModelConfigException unknown = routerLoadFails(dir, "9");
        assertEquals(
                "moe.model.layer (--layer): expected a layer of this deepseek_v2 checkpoint: 0-3, found 9",
                unknown.getMessage());
    }

    @Test
    void unknownModelTypeNamesTheKeyAndTheSupportedFamilies() throws IOException {
        generate("mixtral");
        CheckpointRewriter.putConfig(dir, "model_type", "llama");
        ModelConfigException e = routerLoadFails(dir, "1");
        assertEquals(
                "config.json model_type: expected one of mixtral, qwen2_moe, qwen3_moe, olmoe, deepseek_v3,"
                        + " deepseek_v2, switch_transformers, granitemoe, gpt_oss (the supported MoE families),"
                        + " found llama",
                e.getMessage());
    }

    @Test
    void aMissingShardIsNamedWithTheTensorThatNeedsIt() throws IOException {
        generate("olmoe");
        String shard;
        try (TensorStore s = TensorStore.open(dir)) {
            shard = s.shardOf("model.layers.2.mlp.gate.weight");
        }
        Files.delete(dir.resolve(shard));
        ModelConfigException e = routerLoadFails(dir, "2");
        assertTrue(e.getMessage().startsWith(shard + ": file not found: "), e.getMessage());
        assertTrue(
                e.getMessage().endsWith("(model.safetensors.index.json names it for model.layers.2.mlp.gate.weight)"),
                e.getMessage());
    }

    @Test
    void anIndexNamingATensorItsShardLacksIsNamed() throws IOException {
        generate("mixtral");
        String gate = "model.layers.1.block_sparse_moe.gate.weight";
        String wrongShard;
        try (TensorStore s = TensorStore.open(dir)) {
            wrongShard = s.shardFiles().stream()
                    .filter(f -> !f.equals(s.shardOf(gate)))
                    .findFirst()
                    .orElseThrow();
        }
        Path index = dir.resolve("model.safetensors.index.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(index.toFile());
        ((ObjectNode) root.get("weight_map")).put(gate, wrongShard);
        json.writeValue(index.toFile(), root);
        ModelConfigException e = routerLoadFails(dir, "1");
        assertEquals(
                gate + ": missing tensor: model.safetensors.index.json places it in " + wrongShard
                        + ", but that shard has no such tensor",
                e.getMessage());
    }

    @Test
    void aWrongShapeNamesTheTensorItsShardAndBothShapes() throws IOException {
        generate("mixtral");
        CheckpointRewriter.putConfig(dir, "num_local_experts", 6);
        ModelConfigException e = routerLoadFails(dir, "1");
        assertTrue(
                e.getMessage()
                        .startsWith("model.layers.1.block_sparse_moe.gate.weight: expected shape [6, 64], found"
                                + " shape [8, 64] in model-0000"),
                e.getMessage());
        // an expert's wrong shape is found before any data is read
        CheckpointRewriter.putConfig(dir, "num_local_experts", 8);
        CheckpointRewriter.putConfig(dir, "intermediate_size", 95);
        ModelConfigException expert = assertThrows(
                ModelConfigException.class,
                () -> MoeModel.load(dir, "1", ExpertSelection.of(0), new RecordingBackend()));
        assertTrue(
                expert.getMessage()
                        .startsWith("model.layers.1.block_sparse_moe.experts.0.w1.weight: expected shape"
                                + " [95, 64], found shape [96, 64]"),
                expert.getMessage());
    }

    @Test
    void aTruncatedShardIsNamed() throws IOException {
        generate("gpt_oss");
        String shard;
        try (TensorStore s = TensorStore.open(dir)) {
            shard = s.shardOf("model.layers.1.mlp.router.weight");
        }
        try (FileChannel ch = FileChannel.open(dir.resolve(shard), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        ModelConfigException e = routerLoadFails(dir, "1");
        assertTrue(e.getMessage().startsWith(shard + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("file truncated"), e.getMessage());
    }

    @Test
    void aMoeJsonDirectoryRefusesALayerAndAnEmptyDirectoryIsExplained() throws IOException {
        Files.writeString(dir.resolve("moe.json"), "{}");
        ModelConfigException layer = routerLoadFails(dir, "1");
        assertTrue(
                layer.getMessage()
                        .startsWith("moe.model.layer (--layer): applies to Hugging Face checkpoint"
                                + " directories (config.json); "),
                layer.getMessage());
        ModelConfigException empty = routerLoadFails(dir.resolve("nothing"), null);
        assertTrue(
                empty.getMessage().endsWith("expected a model directory, found no such directory"), empty.getMessage());
        assertFalse(HfCheckpoint.isCheckpoint(dir));
    }
}
