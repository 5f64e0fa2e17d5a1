package io.moestreams.core.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.model.SafetensorsFile;
import io.moestreams.core.model.SafetensorsWriter;
import io.moestreams.core.model.TensorInfo;
import io.moestreams.core.model.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Rewrites a generated checkpoint for tests: each tensor may be replaced by others (quantized weights and their
 * scales, a fused layout), kept in its shard, and the index updated. Also the test-side quantizers (nearest
 * E4M3 code with per-block scales; MXFP4 with per-32 power-of-two scales), independent of the loader.
 */
public final class CheckpointRewriter {

    /** A tensor to write: raw little-endian bytes. */
    public record Raw(String name, SafetensorsDtype dtype, long[] shape, byte[] bytes) {}

    /** Maps one tensor (name, info, raw bytes) to its replacements. */
    @FunctionalInterface
    public interface Rule {
        List<Raw> apply(String name, TensorInfo info, byte[] bytes, float[] values);
    }

    private CheckpointRewriter() {}

    public static void rewrite(Path dir, Rule rule) throws IOException {
        Path indexPath = dir.resolve("model.safetensors.index.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = (ObjectNode) json.readTree(indexPath.toFile());
        Map<String, String> weightMap = new TreeMap<>();
        List<String> shards = new ArrayList<>();
        index.get("weight_map").fields().forEachRemaining(e -> {
            if (!shards.contains(e.getValue().asText())) {
                shards.add(e.getValue().asText());
            }
        });
        for (String shard : shards) {
            List<Raw> out = new ArrayList<>();
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(shard))) {
                for (String name : f.names()) {
                    TensorInfo info = f.info(name);
                    byte[] bytes = f.readBytes(name, 0, (int) info.byteLength());
                    float[] values = info.dtype().readableAsF32() ? f.readF32(name) : null;
                    out.addAll(rule.apply(name, info, bytes, values));
                }
            }
            List<TensorSpec> specs = new ArrayList<>();
            for (Raw r : out) {
                specs.add(new TensorSpec(r.name(), r.dtype(), r.shape()));
                weightMap.put(r.name(), shard);
            }
            Path tmp = dir.resolve(shard + ".rewrite");
            try (SafetensorsWriter w = SafetensorsWriter.create(tmp, specs, Map.of("format", "pt"))) {
                for (Raw r : out) {
                    w.writeRaw(r.name(), r.bytes());
                }
            }
            Files.move(tmp, dir.resolve(shard), StandardCopyOption.REPLACE_EXISTING);
        }
        Map<String, Object> newIndex = new LinkedHashMap<>();
        newIndex.put("metadata", json.convertValue(index.get("metadata"), Map.class));
        newIndex.put("weight_map", weightMap);
        json.writerWithDefaultPrettyPrinter().writeValue(indexPath.toFile(), newIndex);
    }

    /** Sets a top-level key of the checkpoint's config.json. */
    public static void putConfig(Path dir, String key, Object value) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode config =
                (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        config.set(key, json.valueToTree(value));
        json.writerWithDefaultPrettyPrinter()
                .writeValue(dir.resolve("config.json").toFile(), config);
    }

    /** Keeps a tensor as it is. */
    public static List<Raw> keep(String name, TensorInfo info, byte[] bytes) {
        return List.of(new Raw(name, info.dtype(), info.shape(), bytes));
    }

    public static byte[] f32Bytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    /** The E4M3 code nearest to v (searching all finite codes). */
    public static byte e4m3Encode(double v) {
        int best = 0;
        double err = Double.MAX_VALUE;
        for (int c = 0; c < 256; c++) {
            if ((c & 0x7F) == 0x7F) {
                continue; // NaN
            }
            double d = Math.abs(NaiveCheckpoint.e4m3((byte) c) - v);
            if (d < err) {
                err = d;
                best = c;
            }
        }
        return (byte) best;
    }

    /**
     * DeepSeek-style FP8: per [br, bc] block scale = max|w| / 448, q = nearest E4M3 of w / scale.
     *
     * @return the E4M3 bytes and the F32 scale grid bytes
     */
    public static List<Raw> fp8(String name, float[] w, int rows, int cols, int br, int bc) {
        int sr = (rows + br - 1) / br;
        int sc = (cols + bc - 1) / bc;
        float[] scale = new float[sr * sc];
        byte[] q = new byte[rows * cols];
        for (int bi = 0; bi < sr; bi++) {
            for (int bj = 0; bj < sc; bj++) {
                double max = 1e-12;
                for (int i = bi * br; i < Math.min(rows, (bi + 1) * br); i++) {
                    for (int j = bj * bc; j < Math.min(cols, (bj + 1) * bc); j++) {
                        max = Math.max(max, Math.abs(w[i * cols + j]));
                    }
                }
                float s = (float) (max / 448.0);
                scale[bi * sc + bj] = s;
                for (int i = bi * br; i < Math.min(rows, (bi + 1) * br); i++) {
                    for (int j = bj * bc; j < Math.min(cols, (bj + 1) * bc); j++) {
                        q[i * cols + j] = e4m3Encode(w[i * cols + j] / s);
                    }
                }
            }
        }
        return List.of(
                new Raw(name, SafetensorsDtype.F8_E4M3, new long[] {rows, cols}, q),
                new Raw(name + "_scale_inv", SafetensorsDtype.F32, new long[] {sr, sc}, f32Bytes(scale)));
    }

    /**
     * MXFP4 of [n, rows, cols] values stored as rows x cols per n (cols a multiple of 32): blocks
     * [n, rows, cols/32, 16] and scales [n, rows, cols/32], scale exponent = ceil(log2(max|v| / 6)).
     */
    public static List<Raw> mxfp4(String base, double[] v, int n, int rows, int cols) {
        int groups = cols / 32;
        byte[] blocks = new byte[n * rows * groups * 16];
        byte[] scales = new byte[n * rows * groups];
        for (int g = 0; g < n * rows * groups; g++) {
            double max = 1e-30;
            for (int j = 0; j < 32; j++) {
                max = Math.max(max, Math.abs(v[g * 32 + j]));
            }
            int exp = (int) Math.ceil(Math.log(max / 6.0) / Math.log(2));
            scales[g] = (byte) (exp + 127);
            for (int j = 0; j < 32; j += 2) {
                int lo = e2m1Encode(v[g * 32 + j] / Math.pow(2, exp));
                int hi = e2m1Encode(v[g * 32 + j + 1] / Math.pow(2, exp));
                blocks[g * 16 + j / 2] = (byte) (lo | (hi << 4));
            }
        }
        return List.of(
                new Raw(base + "_blocks", SafetensorsDtype.U8, new long[] {n, rows, groups, 16}, blocks),
                new Raw(base + "_scales", SafetensorsDtype.U8, new long[] {n, rows, groups}, scales));
    }

    static int e2m1Encode(double v) {
        int best = 0;
        double err = Double.MAX_VALUE;
        for (int c = 0; c < 16; c++) {
            double d = Math.abs(NaiveCheckpoint.e2m1(c) - v);
            if (d < err) {
                err = d;
                best = c;
            }
        }
        return best;
    }
}
