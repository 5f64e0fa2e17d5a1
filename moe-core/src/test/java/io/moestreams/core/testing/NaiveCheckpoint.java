package io.moestreams.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moestreams.core.model.SafetensorsFile;
import io.moestreams.core.model.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Test-side reading of a Hugging Face checkpoint, written independently of the loader under test: config.json
 * with plain Jackson, the index's weight_map by hand, whole tensors through {@link SafetensorsFile}, and its own
 * naive decoders for F8_E4M3 (bit formula) and MXFP4 (the E2M1 table of the OCP MX spec).
 */
public final class NaiveCheckpoint implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final JsonNode config;
    private final Map<String, String> weightMap = new HashMap<>();
    private final Map<String, SafetensorsFile> files = new HashMap<>();

    public NaiveCheckpoint(Path dir) {
        this.dir = dir;
        try {
            this.config = JSON.readTree(dir.resolve("config.json").toFile());
            Path index = dir.resolve("model.safetensors.index.json");
            if (Files.exists(index)) {
                JsonNode map = JSON.readTree(index.toFile()).get("weight_map");
                for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    weightMap.put(e.getKey(), e.getValue().asText());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A config value, or null if absent / null (first of the keys present). */
    public JsonNode cfg(String... keys) {
        for (String k : keys) {
            JsonNode n = config.get(k);
            if (n != null && !n.isNull()) {
                return n;
            }
        }
        return null;
    }

    public int intCfg(int fallback, String... keys) {
        JsonNode n = cfg(keys);
        return n == null ? fallback : n.asInt();
    }

    public double doubleCfg(double fallback, String... keys) {
        JsonNode n = cfg(keys);
        return n == null ? fallback : n.asDouble();
    }

    public boolean boolCfg(boolean fallback, String... keys) {
        JsonNode n = cfg(keys);
        return n == null ? fallback : n.asBoolean();
    }

    public String strCfg(String fallback, String... keys) {
        JsonNode n = cfg(keys);
        return n == null ? fallback : n.asText();
    }

    private SafetensorsFile file(String name) {
        String f = weightMap.isEmpty() ? "model.safetensors" : weightMap.get(name);
        if (f == null) {
            throw new IllegalArgumentException("test checkpoint has no tensor " + name);
        }
        return files.computeIfAbsent(f, x -> SafetensorsFile.open(dir.resolve(x)));
    }

    public boolean has(String name) {
        return weightMap.isEmpty() ? file("x").contains(name) : weightMap.containsKey(name);
    }

    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** A whole float tensor as doubles (F32/F16/BF16), or an F8_E4M3 weight times its block scales. */
    public double[] tensor(String name) {
        TensorInfo info = info(name);
        if (info.dtype().name().equals("F8_E4M3")) {
            long[] shape = info.shape();
            int rows = (int) shape[0];
            int cols = (int) shape[1];
            byte[] q = file(name).readBytes(name, 0, rows * cols);
            float[] s = file(name + "_scale_inv").readF32(name + "_scale_inv");
            long[] sshape = info(name + "_scale_inv").shape();
            JsonNode block = config.path("quantization_config").path("weight_block_size");
            int br = block.isArray() ? block.get(0).asInt() : 128;
            int bc = block.isArray() ? block.get(1).asInt() : 128;
            double[] out = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    float w = (float) e4m3(q[i * cols + j]) * s[(i / br) * (int) sshape[1] + j / bc];
                    out[i * cols + j] = w;
                }
            }
            return out;
        }
        float[] v = file(name).readF32(name);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    /** Raw bytes of a tensor. */
    public byte[] bytes(String name) {
        return file(name).readBytes(name, 0, (int) info(name).byteLength());
    }

    /** E4M3 (fn): sign, 4-bit exponent (bias 7), 3-bit mantissa; exponent 0 is subnormal. */
    public static double e4m3(byte b) {
        int v = b & 0xFF;
        int sign = v >> 7;
        int exp = (v >> 3) & 15;
        int man = v & 7;
        double x = exp == 0 ? man / 8.0 * Math.pow(2, -6) : (1 + man / 8.0) * Math.pow(2, exp - 7);
        return sign == 1 ? -x : x;
    }

    /** E2M1: sign, 2-bit exponent (bias 1), 1-bit mantissa; exponent 0 is subnormal (0 or 0.5). */
    public static double e2m1(int code) {
        int sign = (code >> 3) & 1;
        int exp = (code >> 1) & 3;
        int man = code & 1;
        double x = exp == 0 ? man * 0.5 : (1 + man / 2.0) * Math.pow(2, exp - 1);
        return sign == 1 ? -x : x;
    }

    /**
     * An MXFP4 pair {@code <base>_blocks [..., G, 16]} / {@code <base>_scales [..., G]} as [rows, G·32] (rows = all
     * leading dimensions), element 2j in the low nibble of byte j.
     */
    public double[] mxfp4(String base) {
        byte[] blocks = bytes(base + "_blocks");
        byte[] scales = bytes(base + "_scales");
        double[] out = new double[blocks.length * 2];
        for (int g = 0; g < scales.length; g++) {
            double scale = Math.pow(2, (scales[g] & 0xFF) - 127);
            for (int j = 0; j < 16; j++) {
                int b = blocks[g * 16 + j] & 0xFF;
                out[g * 32 + 2 * j] = e2m1(b & 15) * scale;
                out[g * 32 + 2 * j + 1] = e2m1(b >> 4) * scale;
            }
        }
        return out;
    }

    @Override
    public void close() {
        files.values().forEach(SafetensorsFile::close);
    }
}
