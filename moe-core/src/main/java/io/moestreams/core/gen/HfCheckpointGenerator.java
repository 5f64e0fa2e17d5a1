package io.moestreams.core.gen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.moestreams.core.model.SafetensorsWriter;
import io.moestreams.core.model.TensorSpec;
import io.moestreams.core.model.TensorStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a random Hugging Face style checkpoint directory of one MoE family, for demos and tests: config.json
 * with the keys transformers writes (sorted, 4.x or 5.x names), the weights in the family's tensor names as
 * {@code save_pretrained} writes them (other layers, attention and norm tensors included), split into
 * {@code model-0000k-of-0000n.safetensors} shards with {@code model.safetensors.index.json} (or a single
 * {@code model.safetensors}). Shards are cut by size in module order, so one layer's tensors often straddle two.
 */
public final class HfCheckpointGenerator {

    private static final Logger LOGGER = LoggerFactory.getLogger(HfCheckpointGenerator.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfCheckpointGenerator() {}

    /**
     * Writes the checkpoint into {@code dir} (created if needed).
     *
     * @return the shard file names, in order
     */
    public static List<String> generate(Path dir, HfCheckpointSpec spec) throws IOException {
        long start = System.nanoTime();
        HfCheckpointPlan plan = HfCheckpointPlan.of(spec);
        Files.createDirectories(dir);
        List<List<HfCheckpointPlan.Planned>> shards = split(plan.tensors, spec.shards());
        List<String> files = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        long totalBytes = 0;
        long totalParams = 0;
        for (int s = 0; s < shards.size(); s++) {
            String file = shards.size() == 1
                    ? TensorStore.SINGLE_FILE
                    : String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            files.add(file);
            List<TensorSpec> specs = new ArrayList<>();
            for (HfCheckpointPlan.Planned t : shards.get(s)) {
                specs.add(new TensorSpec(t.name(), t.dtype(), t.shape()));
                weightMap.put(t.name(), file);
                totalBytes += specs.get(specs.size() - 1).byteLength();
                totalParams += specs.get(specs.size() - 1).numElements();
            }
            try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve(file), specs, Map.of("format", "pt"))) {
                for (HfCheckpointPlan.Planned t : shards.get(s)) {
                    w.write(t.name(), values(spec.seed(), t));
                }
            }
        }
        if (shards.size() > 1) {
            Map<String, Object> index = new LinkedHashMap<>();
            index.put("metadata", Map.of("total_parameters", totalParams, "total_size", totalBytes));
            index.put("weight_map", weightMap);
            Files.writeString(
                    dir.resolve(TensorStore.INDEX_FILE), JSON.writeValueAsString(index) + "\n", StandardCharsets.UTF_8);
        }
        Files.writeString(
                dir.resolve("config.json"), JSON.writeValueAsString(plan.config) + "\n", StandardCharsets.UTF_8);
        LOGGER.info(
                "Generated {} checkpoint in {}: d={}, f={}, E={}, {} layers, {} tensors in {} shard(s), {} in {} ms",
                spec.family(),
                dir,
                spec.hidden(),
                spec.intermediate(),
                spec.experts(),
                spec.layers(),
                plan.tensors.size(),
                shards.size(),
                spec.dtype(),
                (System.nanoTime() - start) / 1_000_000);
        return files;
    }

    /** Cuts the tensors, in order, into n runs of about equal byte size (every run non-empty). */
    static List<List<HfCheckpointPlan.Planned>> split(List<HfCheckpointPlan.Planned> tensors, int n) {
        long total = 0;
        for (HfCheckpointPlan.Planned t : tensors) {
            total += bytes(t);
        }
        int shards = Math.min(n, tensors.size());
        List<List<HfCheckpointPlan.Planned>> out = new ArrayList<>();
        List<HfCheckpointPlan.Planned> current = new ArrayList<>();
        long done = 0;
        for (int i = 0; i < tensors.size(); i++) {
            HfCheckpointPlan.Planned t = tensors.get(i);
            current.add(t);
            done += bytes(t);
            int remainingTensors = tensors.size() - i - 1;
            int remainingShards = shards - out.size() - 1;
            boolean full = done >= total * (out.size() + 1) / shards;
            if (remainingShards > 0 && (full || remainingTensors == remainingShards)) {
                out.add(current);
                current = new ArrayList<>();
            }
        }
        out.add(current);
        return out;
    }

    private static long bytes(HfCheckpointPlan.Planned t) {
        long n = t.dtype().byteSize();
        for (long dim : t.shape()) {
            n *= dim;
        }
        return n;
    }

    private static float[] values(long seed, HfCheckpointPlan.Planned t) {
        long n = 1;
        for (long dim : t.shape()) {
            n *= dim;
        }
        SplittableRandom random =
                new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ t.name().hashCode());
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (t.mean() + t.std() * random.nextGaussian());
        }
        return v;
    }
}
