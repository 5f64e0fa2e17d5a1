package io.moestreams.core.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.TensorInfo;
import io.moestreams.core.model.TensorStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a platform engineer needs to place a checkpoint's experts: family, layers (dense / sparse), per sparse
 * layer the router, experts, top-k, shared experts, shapes, dtypes, bytes per expert and the shards holding the
 * layer. Reads config.json, the index and the shard headers only (no tensor data).
 */
public final class CheckpointInspector {

    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointInspector() {}

    /** The report as JSON (the text form of {@code moe inspect} is rendered from it). */
    public static ObjectNode inspect(Path dir) {
        try (HfCheckpoint c = HfCheckpoint.open(dir)) {
            TensorStore store = c.store();
            HfConfig cfg = c.config();
            ObjectNode root = JSON.createObjectNode();
            root.put("directory", dir.toString());
            root.put("model_type", c.family().modelType());
            root.put("dtype", cfg.dtype());
            root.put("transformers_version", cfg.string(null, "transformers_version"));
            HfConfig quant = cfg.object("quantization_config");
            root.put("quantization", quant == null ? null : quant.string(null, "quant_method"));
            ArrayNode shards = root.putArray("shards");
            long total = 0;
            Map<String, Integer> tensorsPerShard = new LinkedHashMap<>();
            for (String name : store.names()) {
                tensorsPerShard.merge(store.shardOf(name), 1, Integer::sum);
            }
            for (String file : store.shardFiles()) {
                long bytes = dir.resolve(file).toFile().length();
                total += bytes;
                shards.addObject()
                        .put("file", file)
                        .put("bytes", bytes)
                        .put("tensors", tensorsPerShard.getOrDefault(file, 0));
            }
            root.put("total_bytes", total);
            List<HfLayer> layers = c.layers();
            root.put("layers", layers.size());
            root.put("sparse_layers", c.sparseLayers());
            List<String> dense = new ArrayList<>();
            for (HfLayer l : layers) {
                if (!l.sparse()) {
                    dense.add(l.name());
                }
            }
            root.put("dense_layers", HfBlocks.compact(dense));
            ArrayNode moe = root.putArray("moe_layers");
            for (HfLayer l : layers) {
                if (l.sparse()) {
                    moe.add(layer(c, l));
                }
            }
            return root;
        }
    }

    private static ObjectNode layer(HfCheckpoint c, HfLayer l) {
        ObjectNode n = JSON.createObjectNode();
        n.put("layer", l.name());
        HfMoeBlock block;
        try {
            block = c.block(l.name());
        } catch (ModelConfigException e) {
            n.put("error", e.getMessage());
            return n;
        }
        MoeConfig config = block.config();
        WeightReader r = c.reader();
        Set<String> shards = new LinkedHashSet<>();
        n.put("prefix", block.prefix());
        n.put("hidden_size", config.hiddenSize());
        n.put("router", config.router().type().json());
        n.put("top_k", config.router().topK());
        block.details().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> n.put(e.getKey(), e.getValue()));
        long routerBytes = 0;
        ArrayNode routerTensors = n.putArray("router_tensors");
        for (String t : block.routerTensors()) {
            routerBytes += tensor(routerTensors, c.store(), t, c.store().info(t).byteLength());
            shards.add(c.store().shardOf(t));
        }
        n.put("router_bytes", routerBytes);
        n.put("experts", config.numExperts());
        n.put("expert_width", config.intermediateSize());
        n.put("expert_layout", block.experts().describe());
        n.put("bytes_per_expert", partsBytes(block.experts(), r, 0, n.putArray("expert_0_tensors"), c.store()));
        n.put("expert_shards", String.join(", ", shardsOf(block.experts(), r, c.store())));
        shards.addAll(shardsOf(block.experts(), r, c.store()));
        n.put("shared_experts", block.numShared());
        if (block.shared() != null) {
            n.put("shared_width", block.shared().intermediateSize());
            n.put(
                    "bytes_per_shared_expert",
                    partsBytes(block.shared(), r, 0, n.putArray("shared_s0_tensors"), c.store()));
            shards.addAll(shardsOf(block.shared(), r, c.store()));
        }
        n.put(
                "capacity",
                config.hasExpertCapacity() ? config.expertCapacity() + " tokens per expert per sequence" : "none");
        n.put("shards", String.join(", ", shards));
        return n;
    }

    private static long partsBytes(ExpertLayout layout, WeightReader r, int index, ArrayNode out, TensorStore s) {
        long bytes = 0;
        for (TensorPart p : layout.parts(r, index)) {
            bytes += tensor(out, s, p.tensor(), p.bytes());
        }
        return bytes;
    }

    private static long tensor(ArrayNode out, TensorStore s, String name, long bytes) {
        TensorInfo info = s.info(name);
        ObjectNode t = out.addObject();
        t.put("tensor", name);
        t.put("shape", info.shapeString());
        t.put("dtype", info.dtype().name());
        t.put("bytes", bytes);
        t.put("shard", s.shardOf(name));
        return bytes;
    }

    private static Set<String> shardsOf(ExpertLayout layout, WeightReader r, TensorStore s) {
        Set<String> shards = new TreeSet<>();
        for (int i = 0; i < layout.count(); i++) {
            for (TensorPart p : layout.parts(r, i)) {
                shards.add(s.shardOf(p.tensor()));
            }
        }
        return shards;
    }
}
