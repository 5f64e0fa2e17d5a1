package io.moestreams.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.config.MoeConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fingerprint of one MoE layer: what a response was computed with, so a replay knows what it compares against.
 * It is {@code sha256:} + the SHA-256 of
 *
 * <pre>
 * moe-streams layer fingerprint v1
 * &lt;routing spec: the layer's configuration and its family's routing settings, one key=value a line&gt;
 * for every tensor serving the layer reads (router, every routed and shared expert), sorted by name:
 *   &lt;name&gt; TAB &lt;dtype&gt; TAB &lt;shape&gt; TAB &lt;SHA-256 of its stored bytes, hex&gt;
 * </pre>
 *
 * The tensor bytes are hashed as stored (any dtype, read through memory maps, never converted) without ND4J, so the gateway and
 * {@code moe reference} compute the same value from the same files. Tensors are hashed in parallel.
 *
 * <p><b>Cost and cache:</b> hashing reads every byte of the layer (≈ 1–2 GB/s per core with the JDK's SHA-256
 * intrinsics; a Mixtral 8x7B layer is 2.8 GB in BF16). Layers of at least {@value #CACHE_THRESHOLD_BYTES} bytes keep
 * the result in a sidecar file keyed by the absolute directory, the layer, and the size and modification time of
 * every file the layer comes from: {@code <model dir>/.moe-fingerprint-<layer>.json}, or, when the model directory is
 * read-only, {@code ~/.cache/moe-streams/fingerprints/}. A changed, replaced or touched file changes the key and the
 * layer is hashed again; a file rewritten in place with the same size and modification time would not be noticed.
 */
public final class LayerFingerprint {

    private static final Logger LOGGER = LoggerFactory.getLogger(LayerFingerprint.class);

    /** Every fingerprint starts with this. */
    public static final String PREFIX = "sha256:";

    static final String VERSION = "moe-streams layer fingerprint v1";

    /** Layers with fewer tensor bytes are hashed every time (it is faster than checking a cache). */
    static final long CACHE_THRESHOLD_BYTES = 256L << 20;

    /** System property: directory of the fallback cache (default {@code ~/.cache/moe-streams/fingerprints}). */
    public static final String CACHE_DIR_PROPERTY = "moe.fingerprint.cache-dir";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private LayerFingerprint() {}

    /**
     * The fingerprint of a layer ({@code layer} null for a moe.json directory), from the sidecar cache when the layer
     * is large and its files are unchanged.
     *
     * @throws io.moestreams.core.config.ModelConfigException naming the file, layer or tensor that is wrong
     */
    public static String of(Path dir, String layer) {
        return of(dir, layer, CACHE_THRESHOLD_BYTES);
    }

    /** As {@link #of(Path, String)}, caching layers of at least {@code cacheThresholdBytes} tensor bytes. */
    static String of(Path dir, String layer, long cacheThresholdBytes) {
        long start = System.nanoTime();
        try (LayerSource source = MoeModel.open(dir, layer)) {
            List<String> names = new ArrayList<>(source.layerTensors());
            names.sort(null);
            long bytes = 0;
            for (String name : names) {
                bytes += source.tensorInfo(name).byteLength();
            }
            ObjectNode key = bytes >= cacheThresholdBytes ? key(dir, layer, source.files()) : null;
            String cached = key == null ? null : cached(dir, layer, key);
            if (cached != null) {
                LOGGER.info("Fingerprint of {}{}: {} (cached)", dir, layer == null ? "" : " layer " + layer, cached);
                return cached;
            }
            String fingerprint = compute(source, names);
            if (key != null) {
                store(dir, layer, key, fingerprint);
            }
            LOGGER.info(
                    "Fingerprint of {}{}: {} ({} tensors, {} MB hashed in {} ms)",
                    dir,
                    layer == null ? "" : " layer " + layer,
                    fingerprint,
                    names.size(),
                    bytes / (1024 * 1024),
                    (System.nanoTime() - start) / 1_000_000);
            return fingerprint;
        }
    }

    /** Hashes the layer's tensors (in parallel) and its routing spec; no cache. */
    static String compute(LayerSource source, List<String> sortedNames) {
        String[] digests = sortedNames.parallelStream()
                .map(name -> {
                    MessageDigest d = sha256();
                    source.digestTensor(name, d);
                    return HexFormat.of().formatHex(d.digest());
                })
                .toArray(String[]::new);
        StringBuilder text = new StringBuilder(VERSION).append('\n').append(source.routingSpec());
        for (int i = 0; i < digests.length; i++) {
            TensorInfo info = source.tensorInfo(sortedNames.get(i));
            text.append(info.name())
                    .append('\t')
                    .append(info.dtype())
                    .append('\t')
                    .append(Arrays.toString(info.shape()))
                    .append('\t')
                    .append(digests[i])
                    .append('\n');
        }
        return PREFIX + HexFormat.of().formatHex(sha256().digest(text.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** The routing part of a layer's configuration as canonical {@code key=value} lines. */
    public static String canonical(MoeConfig c) {
        return "format=" + c.format().json() + '\n'
                + "tensor_prefix=" + c.tensorPrefix() + '\n'
                + "hidden_size=" + c.hiddenSize() + '\n'
                + "intermediate_size=" + c.intermediateSize() + '\n'
                + "num_experts=" + c.numExperts() + '\n'
                + "router.type=" + c.router().type().json() + '\n'
                + "router.top_k=" + c.router().topK() + '\n'
                + "router.normalize=" + c.router().normalize() + '\n'
                + "router.noise=" + c.router().noise() + '\n'
                + "router.random_routing=" + c.router().randomRouting() + '\n'
                + "activation=" + c.activation().json() + '\n'
                + "capacity_factor=" + c.capacityFactor() + '\n'
                + "overflow=" + c.overflow().json() + '\n'
                + "seed=" + c.seed() + '\n'
                + "expert_capacity=" + c.expertCapacity() + '\n'
                + "shared_experts=" + c.numSharedExperts() + '\n';
    }

    /** Reads {@code count} bytes of a tensor's data from byte {@code first}. */
    @FunctionalInterface
    interface ByteRange {
        byte[] read(long first, int count);
    }

    /** Bytes hashed per read. */
    private static final int DIGEST_CHUNK = 32 << 20;

    /** Feeds {@code length} bytes, read in chunks, to {@code digest}. */
    static void digest(MessageDigest digest, long length, ByteRange bytes) {
        for (long first = 0; first < length; first += DIGEST_CHUNK) {
            digest.update(bytes.read(first, (int) Math.min(DIGEST_CHUNK, length - first)));
        }
    }

    /** Checks that a text is a fingerprint as this class writes it. */
    public static boolean isFingerprint(String s) {
        return s != null
                && s.length() == PREFIX.length() + 64
                && s.startsWith(PREFIX)
                && s.substring(PREFIX.length()).chars().allMatch(ch -> Character.digit(ch, 16) >= 0);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static ObjectNode key(Path dir, String layer, List<Path> files) {
        ObjectNode key = MAPPER.createObjectNode();
        key.put("version", VERSION);
        key.put("dir", dir.toAbsolutePath().normalize().toString());
        key.put("layer", layer);
        ArrayNode list = key.putArray("files");
        for (Path f : files) {
            ObjectNode entry = list.addObject();
            entry.put("path", f.toAbsolutePath().normalize().toString());
            try {
                entry.put("size", Files.size(f));
                entry.put("mtimeMs", Files.getLastModifiedTime(f).toMillis());
            } catch (IOException e) {
                return null; // cannot key it: hash every time
            }
        }
        try {
            // as JSON reads it back (numbers as the narrowest node), so a stored key compares equal
            return (ObjectNode) MAPPER.readTree(MAPPER.writeValueAsString(key));
        } catch (IOException e) {
            return null;
        }
    }

    /** The sidecar next to the model, then the user cache. */
    static List<Path> cacheFiles(Path dir, String layer) {
        String tag = layer == null ? "layer" : layer.replaceAll("[^A-Za-z0-9_.-]", "_");
        String name = ".moe-fingerprint-" + tag + ".json";
        String global = System.getProperty(CACHE_DIR_PROPERTY);
        Path fallback = global != null
                ? Path.of(global)
                : Path.of(System.getProperty("user.home"), ".cache", "moe-streams", "fingerprints");
        String hashed = HexFormat.of()
                .formatHex(sha256().digest(
                                (dir.toAbsolutePath().normalize() + "\n" + layer).getBytes(StandardCharsets.UTF_8)))
                .substring(0, 32);
        return List.of(dir.resolve(name), fallback.resolve(hashed + ".json"));
    }

    private static String cached(Path dir, String layer, ObjectNode key) {
        for (Path file : cacheFiles(dir, layer)) {
            try {
                if (!Files.isRegularFile(file)) {
                    continue;
                }
                JsonNode entry = MAPPER.readTree(file.toFile());
                String fp = entry.path("fingerprint").asText(null);
                if (key.equals(entry.get("key")) && isFingerprint(fp)) {
                    return fp;
                }
            } catch (IOException e) {
                LOGGER.debug("Ignoring unreadable fingerprint cache {}: {}", file, e.toString());
            }
        }
        return null;
    }

    private static void deleteQuietly(Path tmp) {
        if (tmp != null) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a stray temporary file in a cache directory is harmless
            }
        }
    }

    private static void store(Path dir, String layer, ObjectNode key, String fingerprint) {
        ObjectNode entry = MAPPER.createObjectNode();
        entry.set("key", key);
        entry.put("fingerprint", fingerprint);
        for (Path file : cacheFiles(dir, layer)) {
            Path tmp = null;
            try {
                Files.createDirectories(file.getParent());
                tmp = Files.createTempFile(file.getParent(), ".moe-fingerprint-", ".tmp");
                Files.write(tmp, MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(entry));
                try {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
                return;
            } catch (IOException | UnsupportedOperationException e) {
                LOGGER.debug("Cannot write the fingerprint cache {}: {}", file, e.toString());
                deleteQuietly(tmp);
            }
        }
        LOGGER.info("Fingerprint of {} not cached: neither the model directory nor the user cache is writable", dir);
    }
}
