package io.moestreams.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.gen.HfCheckpointGenerator;
import io.moestreams.core.gen.HfCheckpointSpec;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.testing.CheckpointRewriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerFingerprintTest {

    @TempDir
    Path tmp;

    private Path mixtral(String name) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        ModelGenerator.generate(
                dir,
                ModelFormat.MIXTRAL,
                8,
                12,
                4,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false),
                null,
                Overflow.NONE,
                Activation.SILU,
                "F16",
                7,
                "");
        return dir;
    }

    @Test
    void isTheDocumentedHashOfTheRoutingSpecAndTheStoredTensorBytes() throws Exception {
        // Given a moe.json model stored in F16
        Path dir = mixtral("m");
        // When its fingerprint is computed
        String fingerprint = LayerFingerprint.of(dir, null);
        // Then it is the SHA-256 of the spec text and of each tensor's raw bytes, computed here from the file format
        String spec = "moe-streams layer fingerprint v1\n"
                + "format=mixtral\ntensor_prefix=\nhidden_size=8\nintermediate_size=12\nnum_experts=4\n"
                + "router.type=topk_softmax\nrouter.top_k=2\nrouter.normalize=true\nrouter.noise=false\n"
                + "router.random_routing=false\nactivation=silu\ncapacity_factor=null\noverflow=none\nseed=7\n"
                + "expert_capacity=null\nshared_experts=0\n";
        StringBuilder text = new StringBuilder(spec);
        byte[] file = Files.readAllBytes(dir.resolve("model.safetensors"));
        long headerLength =
                ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = new ObjectMapper().readTree(new String(file, 8, (int) headerLength, StandardCharsets.UTF_8));
        List<String> names = new ArrayList<>();
        header.fieldNames().forEachRemaining(names::add);
        names.remove("__metadata__");
        names.sort(null);
        assertEquals(1 + 4 * 3, names.size(), "gate + three tensors per expert");
        for (String name : names) {
            JsonNode t = header.get(name);
            int begin = (int) (8 + headerLength + t.get("data_offsets").get(0).asLong());
            int end = (int) (8 + headerLength + t.get("data_offsets").get(1).asLong());
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOfRange(file, begin, end));
            List<Long> shape = new ArrayList<>();
            t.get("shape").forEach(n -> shape.add(n.asLong()));
            text.append(name)
                    .append('\t')
                    .append(t.get("dtype").asText())
                    .append('\t')
                    .append(shape)
                    .append('\t');
            text.append(HexFormat.of().formatHex(digest)).append('\n');
        }
        String expected = "sha256:"
                + HexFormat.of()
                        .formatHex(MessageDigest.getInstance("SHA-256")
                                .digest(text.toString().getBytes(StandardCharsets.UTF_8)));
        assertEquals(expected, fingerprint);
        assertTrue(LayerFingerprint.isFingerprint(fingerprint));
    }

    @Test
    void aCopyElsewhereHasTheSameFingerprintAndAnyChangedByteOrRoutingSettingAnother() throws IOException {
        // Given a model and a byte-for-byte copy in another directory
        Path a = mixtral("a");
        Path b = tmp.resolve("b");
        copy(a, b);
        String original = LayerFingerprint.of(a, null);
        // Then the copy has the same fingerprint
        assertEquals(original, LayerFingerprint.of(b, null));
        // When one byte of one expert's weights changes in the copy
        flipByte(b.resolve("model.safetensors"), expertByteOffset(b));
        String perturbed = LayerFingerprint.of(b, null);
        // Then the fingerprint changes
        assertNotEquals(original, perturbed);
        // And so it does when only the routing changes (top-2 -> top-1)
        Path c = tmp.resolve("c");
        copy(a, c);
        String moeJson = Files.readString(c.resolve("moe.json"));
        Files.writeString(c.resolve("moe.json"), moeJson.replace("\"top_k\" : 2", "\"top_k\" : 1"));
        assertNotEquals(moeJson, Files.readString(c.resolve("moe.json")), "the test must change top_k");
        assertNotEquals(original, LayerFingerprint.of(c, null));
    }

    @Test
    void aCheckpointLayerCoversItsOwnTensorsOnly() throws IOException {
        // Given a Hugging Face checkpoint of 4 layers and the fingerprints of layers 1 and 2
        Path dir = tmp.resolve("ckpt");
        HfCheckpointGenerator.generate(dir, HfCheckpointSpec.demo("qwen3_moe", 3));
        String layer1 = LayerFingerprint.of(dir, "1");
        String layer2 = LayerFingerprint.of(dir, "2");
        assertNotEquals(layer1, layer2);
        // When a tensor of layer 2 (an expert weight) and an attention tensor of layer 1 change
        CheckpointRewriter.rewrite(dir, (name, info, bytes, values) -> {
            if (name.equals("model.layers.2.mlp.experts.5.down_proj.weight") || name.contains("layers.1.self_attn")) {
                byte[] changed = bytes.clone();
                changed[3] ^= 0x10;
                return List.of(new CheckpointRewriter.Raw(name, info.dtype(), info.shape(), changed));
            }
            return CheckpointRewriter.keep(name, info, bytes);
        });
        // Then layer 2's fingerprint changes and layer 1's does not (its MoE block's tensors are unchanged)
        assertEquals(layer1, LayerFingerprint.of(dir, "1"));
        assertNotEquals(layer2, LayerFingerprint.of(dir, "2"));
    }

    @Test
    void largeLayersAreCachedInASidecarKeyedByTheFilesSizesAndTimes() throws IOException {
        // Given a model whose fingerprint is computed with caching on (threshold 0)
        Path dir = mixtral("cached");
        String real = LayerFingerprint.of(dir, null, 0);
        Path sidecar = dir.resolve(".moe-fingerprint-layer.json");
        assertTrue(Files.isRegularFile(sidecar), "the sidecar is written next to the model");
        // When the sidecar claims another fingerprint for the same files
        String planted = "sha256:" + "ab".repeat(32);
        plant(sidecar, planted);
        // Then it is believed (the files were not hashed again)
        assertEquals(planted, LayerFingerprint.of(dir, null, 0));
        // But once a file's modification time changes, the layer is hashed again and the sidecar rewritten
        Path weights = dir.resolve("model.safetensors");
        Files.setLastModifiedTime(
                weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 2000));
        assertEquals(real, LayerFingerprint.of(dir, null, 0));
        assertEquals(
                real,
                new ObjectMapper().readTree(sidecar.toFile()).get("fingerprint").asText());
        // And small layers (below the threshold) are never cached
        Path small = mixtral("small");
        assertEquals(real, LayerFingerprint.of(small, null));
        assertFalse(Files.exists(small.resolve(".moe-fingerprint-layer.json")));
    }

    @Test
    void aModelDirectoryThatCannotTakeTheSidecarUsesTheUserCache() throws IOException {
        // Given a model directory where the sidecar cannot be written, and a user cache directory
        Path dir = mixtral("readonly");
        Files.createDirectories(dir.resolve(".moe-fingerprint-layer.json")); // a directory: the file cannot be made
        Path cache = tmp.resolve("user-cache");
        String before = System.getProperty(LayerFingerprint.CACHE_DIR_PROPERTY);
        System.setProperty(LayerFingerprint.CACHE_DIR_PROPERTY, cache.toString());
        try {
            // When the fingerprint is computed with caching on
            String real = LayerFingerprint.of(dir, null, 0);
            // Then the entry lands in the user cache and is used from there
            List<Path> entries;
            try (Stream<Path> s = Files.list(cache)) {
                entries = s.toList();
            }
            assertEquals(1, entries.size(), entries.toString());
            String planted = "sha256:" + "cd".repeat(32);
            plant(entries.get(0), planted);
            assertEquals(planted, LayerFingerprint.of(dir, null, 0));
            assertNotEquals(planted, real);
        } finally {
            if (before == null) {
                System.clearProperty(LayerFingerprint.CACHE_DIR_PROPERTY);
            } else {
                System.setProperty(LayerFingerprint.CACHE_DIR_PROPERTY, before);
            }
        }
    }

    private static void plant(Path cacheFile, String fingerprint) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode entry = (ObjectNode) json.readTree(cacheFile.toFile());
        entry.put("fingerprint", fingerprint);
        json.writeValue(cacheFile.toFile(), entry);
    }

    private static long expertByteOffset(Path dir) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            TensorInfo info = f.info("experts.2.w3.weight");
            byte[] file = Files.readAllBytes(dir.resolve("model.safetensors"));
            long headerLength =
                    ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            return 8 + headerLength + info.begin() + 5;
        }
    }

    private static void flipByte(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x01);
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Iterator<Path> it = s.iterator(); it.hasNext(); ) {
                Path p = it.next();
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }
}
