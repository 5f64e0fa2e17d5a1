package io.moestreams.core.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moestreams.core.config.ModelConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of a checkpoint directory: one {@code model.safetensors}, or the shards named by
 * {@code model.safetensors.index.json} ({@code weight_map}: tensor → shard file). A shard's header is read the first
 * time one of its tensors is asked for, and a tensor's bytes only when read, so a process that needs one layer's
 * router (or one expert) never opens the other shards' data. Errors name the file and the tensor.
 *
 * <p>Thread-safe.
 */
public final class TensorStore implements AutoCloseable {

    /** The index file of a sharded Hugging Face checkpoint. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** The single weights file of an unsharded checkpoint. */
    public static final String SINGLE_FILE = "model.safetensors";

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private final Path dir;
    /** tensor → shard file name, in index order; null for a single file (then every tensor is in it). */
    private final Map<String, String> weightMap;

    private final Map<String, SafetensorsFile> open = new LinkedHashMap<>();
    private boolean closed;

    private TensorStore(Path dir, Map<String, String> weightMap) {
        this.dir = dir;
        this.weightMap = weightMap;
    }

    /**
     * Opens the tensors of {@code dir}: {@code model.safetensors.index.json} when present, else
     * {@code model.safetensors}.
     *
     * @throws ModelConfigException naming the index file or the missing weights file
     */
    public static TensorStore open(Path dir) {
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return new TensorStore(dir, readIndex(index));
        }
        if (!Files.isRegularFile(dir.resolve(SINGLE_FILE))) {
            throw new ModelConfigException(
                    SINGLE_FILE, "file not found: " + dir.resolve(SINGLE_FILE) + " (nor " + INDEX_FILE + ")");
        }
        TensorStore store = new TensorStore(dir, null);
        store.shard(SINGLE_FILE, null);
        return store;
    }

    private static Map<String, String> readIndex(Path index) {
        JsonNode root;
        try (JsonParser parser = MAPPER.createParser(Files.readString(index, StandardCharsets.UTF_8))) {
            root = MAPPER.readTree(parser);
        } catch (IOException e) {
            throw new ModelConfigException(INDEX_FILE, "cannot be read as JSON: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new ModelConfigException(
                    INDEX_FILE + " weight_map", "an object {tensor: shard file}", String.valueOf(map));
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String file = e.getValue().isTextual() ? e.getValue().textValue() : null;
            if (file == null || file.isEmpty() || file.contains("/") || file.contains("\\") || file.startsWith(".")) {
                throw new ModelConfigException(
                        INDEX_FILE + " weight_map[" + e.getKey() + "]",
                        "a shard file name in the checkpoint directory",
                        String.valueOf(e.getValue()));
            }
            weightMap.put(e.getKey(), file);
        }
        return Collections.unmodifiableMap(weightMap);
    }

    public Path directory() {
        return dir;
    }

    /** True if the checkpoint is sharded (has an index). */
    public boolean sharded() {
        return weightMap != null;
    }

    /** All tensor names: the index's weight_map keys, or the single file's header. */
    public synchronized Set<String> names() {
        if (weightMap != null) {
            return weightMap.keySet();
        }
        return shard(SINGLE_FILE, null).names();
    }

    public synchronized boolean contains(String name) {
        return weightMap != null
                ? weightMap.containsKey(name)
                : shard(SINGLE_FILE, null).contains(name);
    }

    /** The file holding {@code name}. */
    public String shardOf(String name) {
        if (weightMap == null) {
            return SINGLE_FILE;
        }
        String file = weightMap.get(name);
        if (file == null) {
            throw new ModelConfigException(
                    name, "missing tensor: " + INDEX_FILE + " does not name it; " + nearby(name));
        }
        return file;
    }

    /** The shard files, in first-mention order. */
    public List<String> shardFiles() {
        if (weightMap == null) {
            return List.of(SINGLE_FILE);
        }
        return List.copyOf(new LinkedHashSet<>(weightMap.values()));
    }

    /**
     * The header entry of a tensor (opening its shard's header if needed).
     *
     * @throws ModelConfigException if the index does not name it, its shard is missing or unreadable, or the shard
     *                              does not contain it
     */
    public synchronized TensorInfo info(String name) {
        String file = shardOf(name);
        SafetensorsFile f = shard(file, name);
        if (!f.contains(name)) {
            throw new ModelConfigException(
                    name,
                    "missing tensor: " + INDEX_FILE + " places it in " + file + ", but that shard has no such tensor");
        }
        return f.info(name);
    }

    /**
     * Checks a tensor's shape and that it is readable as floats.
     *
     * @throws ModelConfigException naming the tensor, its file, the expected and the found shape
     */
    public TensorInfo requireShape(String name, long... shape) {
        TensorInfo info = info(name);
        if (!info.hasShape(shape)) {
            throw new ModelConfigException(
                    name, "shape " + Arrays.toString(shape), "shape " + info.shapeString() + " in " + shardOf(name));
        }
        return info;
    }

    /** Reads a whole F32/F16/BF16 tensor of the given shape as F32. */
    public float[] readF32(String name, long... shape) {
        requireShape(name, shape);
        requireFloat(name);
        return file(name).readF32(name);
    }

    /** Reads {@code count} elements from element {@code first} of a F32/F16/BF16 tensor as F32. */
    public float[] readF32Range(String name, long first, int count) {
        requireFloat(name);
        return file(name).readF32Range(name, first, count);
    }

    /** Reads raw bytes of a tensor's data. */
    public byte[] readBytes(String name, long firstByte, int count) {
        return file(name).readBytes(name, firstByte, count);
    }

    /** Feeds a tensor's stored data bytes (any dtype, unconverted) to {@code digest}. */
    public void digest(String name, MessageDigest digest) {
        SafetensorsFile f = file(name);
        LayerFingerprint.digest(digest, f.info(name).byteLength(), (first, count) -> f.readBytes(name, first, count));
    }

    private void requireFloat(String name) {
        TensorInfo info = info(name);
        if (!info.dtype().readableAsF32()) {
            throw new ModelConfigException(
                    name, "dtype F32, F16 or BF16", "dtype " + info.dtype() + " in " + shardOf(name));
        }
    }

    private synchronized SafetensorsFile file(String name) {
        info(name);
        return open.get(shardOf(name));
    }

    /** Tensor data bytes read so far, over all shards. */
    public synchronized long bytesRead() {
        long n = 0;
        for (SafetensorsFile f : open.values()) {
            n += f.bytesRead();
        }
        return n;
    }

    /** Names of the tensors whose bytes were read, shard by shard in opening order. */
    public synchronized List<String> tensorsRead() {
        List<String> names = new ArrayList<>();
        for (SafetensorsFile f : open.values()) {
            names.addAll(f.tensorsRead());
        }
        return names;
    }

    /** Shard files whose header has been opened so far. */
    public synchronized List<String> openedShards() {
        return List.copyOf(open.keySet());
    }

    private SafetensorsFile shard(String file, String forTensor) {
        if (closed) {
            throw new IllegalStateException("checkpoint " + dir + " is closed");
        }
        SafetensorsFile f = open.get(file);
        if (f != null) {
            return f;
        }
        Path path = dir.resolve(file);
        if (!Files.isRegularFile(path)) {
            String why = forTensor == null ? "" : " (" + INDEX_FILE + " names it for " + forTensor + ")";
            throw new ModelConfigException(file, "file not found: " + path + why);
        }
        try {
            f = SafetensorsFile.open(path);
        } catch (ModelConfigException e) {
            if (e.getMessage().startsWith(file + ":")) {
                throw e;
            }
            throw new ModelConfigException(file, e.getMessage(), e);
        }
        open.put(file, f);
        return f;
    }

    private String nearby(String name) {
        String prefix = name;
        while (true) {
            int dot = prefix.lastIndexOf('.', prefix.length() - 2);
            prefix = dot < 0 ? "" : prefix.substring(0, dot + 1);
            Set<String> found = new TreeSet<>();
            int total = 0;
            for (String candidate : weightMap.keySet()) {
                if (candidate.startsWith(prefix)) {
                    total++;
                    if (found.size() < 8) {
                        found.add(candidate);
                    }
                }
            }
            if (total > 0 || prefix.isEmpty()) {
                String more = total > found.size() ? " and " + (total - found.size()) + " more" : "";
                return (prefix.isEmpty() ? "the index has " : "tensors under '" + prefix + "': ") + found + more;
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        open.values().forEach(SafetensorsFile::close);
        open.clear();
    }

    @Override
    public String toString() {
        return "TensorStore[" + dir + ", shards=" + shardFiles().size() + "]";
    }
}
