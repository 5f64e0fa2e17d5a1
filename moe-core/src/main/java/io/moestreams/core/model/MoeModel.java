package io.moestreams.core.model;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.ffn.FfnBackend;
import io.moestreams.core.ffn.FfnBackends;
import io.moestreams.core.hf.HfCheckpoint;
import io.moestreams.core.hf.HfConfig;
import io.moestreams.core.hf.HfLayerSource;
import io.moestreams.core.routing.Router;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One loaded MoE layer: the configuration, the router and the FFNs of the selected routed and shared experts. The
 * layer comes from a {@code moe.json} directory ({@code moe.json} + {@code model.safetensors}) or from one sparse
 * layer ({@code --layer}) of a Hugging Face checkpoint directory ({@code config.json} + shards). Only the router's
 * and the selected experts' bytes are read; the FFNs are built by a {@link FfnBackend} (moe-compute's ND4J one),
 * so moe-core does no FFN arithmetic and a router-only load needs no backend. The expert FFNs are not
 * thread-safe (see {@link ExpertFfn}).
 */
public final class MoeModel implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(MoeModel.class);

    /** Name of the weights file inside a {@code moe.json} model directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";

    private final Path directory;
    private final String layer;
    private final MoeConfig config;
    private final Router router;
    private final float[] gateWeight;
    private final float[] noiseWeight;
    private final Map<Integer, ExpertFfn> experts;
    private final Map<Integer, ExpertFfn> shared;
    private final List<String> tensorsRead;
    private final long bytesRead;
    private boolean closed;

    private MoeModel(
            Path directory,
            String layer,
            MoeConfig config,
            Router router,
            float[] gateWeight,
            float[] noiseWeight,
            Map<Integer, ExpertFfn> experts,
            Map<Integer, ExpertFfn> shared,
            List<String> tensorsRead,
            long bytesRead) {
        this.directory = directory;
        this.layer = layer;
        this.config = config;
        this.router = router;
        this.gateWeight = gateWeight;
        this.noiseWeight = noiseWeight;
        this.experts = experts;
        this.shared = shared;
        this.tensorsRead = tensorsRead;
        this.bytesRead = bytesRead;
    }

    /**
     * Loads a {@code moe.json} directory's router and selected experts; experts are built by the backend found on
     * the classpath ({@link FfnBackends#discover()}), so {@link ExpertSelection#none()} (the gateway) needs none.
     */
    public static MoeModel load(Path dir, ExpertSelection selection) {
        boolean routerOnly = selection.kind() == ExpertSelection.Kind.NONE;
        return load(dir, null, selection, routerOnly ? null : FfnBackends.discover());
    }

    /** Loads a {@code moe.json} directory's router and selected experts. */
    public static MoeModel load(Path dir, ExpertSelection selection, FfnBackend backend) {
        return load(dir, null, selection, backend);
    }

    /**
     * Loads the router and the selected experts of a layer. The router is read first (it is small), then every
     * selected expert's tensors are checked against the headers (name, shape, dtype) before any expert data is read;
     * values are checked for NaN/Inf, converted or dequantized to F32 and handed to the backend.
     *
     * @param dir       a {@code moe.json} directory or a Hugging Face checkpoint directory
     * @param layer     the MoE layer of a Hugging Face checkpoint ({@code moe.model.layer}); null for moe.json
     * @param selection which experts to load ({@link ExpertSelection#none()} for the router only)
     * @param backend   builds the FFNs; may be null when nothing but the router is selected
     * @throws ModelConfigException     naming the file, key, layer or tensor that is missing or wrong
     * @throws IllegalArgumentException if a selected expert does not exist, or experts are selected without backend
     */
    public static MoeModel load(Path dir, String layer, ExpertSelection selection, FfnBackend backend) {
        long start = System.nanoTime();
        try (LayerSource source = open(dir, layer)) {
            MoeConfig config = source.config();
            int[] ids = selection.resolve(config.numExperts());
            int[] sharedIds = selection.resolveShared(config.numSharedExperts());
            if (backend == null && (ids.length > 0 || sharedIds.length > 0)) {
                throw new IllegalArgumentException(
                        "loading experts " + selection + " needs an FfnBackend (moe-compute's"
                                + " Nd4jBackend); only ExpertSelection.none() loads without one");
            }
            Router router = source.loadRouter();
            for (int e : ids) {
                source.validateExpert(ExpertRef.routed(e));
            }
            for (int s : sharedIds) {
                source.validateExpert(ExpertRef.shared(s));
            }
            Map<Integer, ExpertFfn> experts = new TreeMap<>();
            Map<Integer, ExpertFfn> shared = new TreeMap<>();
            try {
                for (int e : ids) {
                    experts.put(e, build(source, ExpertRef.routed(e), backend));
                }
                for (int s : sharedIds) {
                    shared.put(s, build(source, ExpertRef.shared(s), backend));
                }
            } catch (RuntimeException ex) {
                experts.values().forEach(ExpertFfn::close);
                shared.values().forEach(ExpertFfn::close);
                throw ex;
            }
            MoeJsonSource json = source instanceof MoeJsonSource j ? j : null;
            MoeModel model = new MoeModel(
                    dir,
                    layer,
                    config,
                    router,
                    json == null ? null : json.gateWeight(),
                    json == null ? null : json.noiseWeight(),
                    Collections.unmodifiableMap(experts),
                    Collections.unmodifiableMap(shared),
                    source.tensorsRead(),
                    source.bytesRead());
            LOGGER.info(
                    "Loaded model {}: {}, {} experts ({} shared), d={}, f={}, loaded {} ({} MB read) in {} ms",
                    dir,
                    source.describe(),
                    config.numExperts(),
                    config.numSharedExperts(),
                    config.hiddenSize(),
                    config.intermediateSize(),
                    selection,
                    source.bytesRead() / (1024 * 1024),
                    (System.nanoTime() - start) / 1_000_000);
            return model;
        }
    }

    private static ExpertFfn build(LayerSource source, ExpertRef ref, FfnBackend backend) {
        ExpertWeights weights = source.loadExpert(ref);
        return weights.build(backend);
    }

    /**
     * The pipeline-facing configuration of a layer, reading only configuration files (and, for a Hugging Face
     * checkpoint, the index and the headers of the shards holding the layer's router).
     */
    public static MoeConfig readConfig(Path dir, String layer) {
        try (LayerSource source = open(dir, layer)) {
            return source.config();
        }
    }

    /** Opens a moe.json directory or one layer of a Hugging Face checkpoint. */
    public static LayerSource open(Path dir, String layer) {
        boolean moeJson = Files.isRegularFile(dir.resolve(MoeConfigJson.FILE_NAME));
        boolean hf = HfCheckpoint.isCheckpoint(dir);
        String layerKey = HfCheckpoint.LAYER_KEY + " (--layer)";
        if (layer != null && !layer.isBlank()) {
            if (!hf) {
                throw new ModelConfigException(
                        layerKey,
                        "applies to Hugging Face checkpoint directories ("
                                + HfConfig.FILE_NAME + "); " + dir
                                + (moeJson ? " is a moe.json model directory" : " has no " + HfConfig.FILE_NAME));
            }
            return HfLayerSource.open(dir, layer);
        }
        if (moeJson) {
            return new MoeJsonSource(dir);
        }
        if (hf) {
            return HfLayerSource.open(dir, null);
        }
        if (!Files.isDirectory(dir)) {
            throw new ModelConfigException(dir.toString(), "a model directory", "no such directory");
        }
        throw new ModelConfigException(
                MoeConfigJson.FILE_NAME,
                "file not found: " + dir.resolve(MoeConfigJson.FILE_NAME) + " (nor " + HfConfig.FILE_NAME
                        + " of a Hugging Face checkpoint directory)");
    }

    public Path directory() {
        return directory;
    }

    /** The Hugging Face layer ({@code --layer}), or null for a moe.json model. */
    public String layer() {
        return layer;
    }

    public MoeConfig config() {
        return config;
    }

    /** The router (with the shared-expert weights when the layer has shared experts). Thread-safe. */
    public Router router() {
        return router;
    }

    /** A copy of a moe.json model's gate weight, row-major [E, d]; null for a Hugging Face layer. */
    public float[] gateWeight() {
        return gateWeight == null ? null : gateWeight.clone();
    }

    /** A copy of {@code noise.weight} [E, d], or null when the model has none (or the router does not use it). */
    public float[] noiseWeight() {
        return noiseWeight == null ? null : noiseWeight.clone();
    }

    /**
     * The FFN of a loaded routed expert (shared instance, not thread-safe).
     *
     * @throws IllegalArgumentException if e is out of range or the expert was not selected at load time
     */
    public ExpertFfn expert(int e) {
        checkOpen();
        if (e < 0 || e >= config.numExperts()) {
            throw new IllegalArgumentException("expert id " + e + " is out of range: the model has num_experts = "
                    + config.numExperts() + " (ids 0.." + (config.numExperts() - 1) + ")");
        }
        ExpertFfn ffn = experts.get(e);
        if (ffn == null) {
            throw new IllegalArgumentException("expert " + e + " is not loaded (loaded experts: "
                    + Arrays.toString(loadedExperts()) + "); load the model with a selection that includes it");
        }
        return ffn;
    }

    /**
     * The FFN of a loaded shared expert {@code s} (shared instance, not thread-safe).
     *
     * @throws IllegalArgumentException if s is out of range or was not selected at load time
     */
    public ExpertFfn sharedExpert(int s) {
        checkOpen();
        if (s < 0 || s >= config.numSharedExperts()) {
            throw new IllegalArgumentException("shared expert s" + s + " is out of range: the model has "
                    + config.numSharedExperts() + " shared experts");
        }
        ExpertFfn ffn = shared.get(s);
        if (ffn == null) {
            throw new IllegalArgumentException("shared expert s" + s + " is not loaded; load the model with a"
                    + " selection that includes it (s" + s + " or shared)");
        }
        return ffn;
    }

    /** The FFN of a loaded routed or shared expert. */
    public ExpertFfn expert(ExpertRef ref) {
        return ref.shared() ? sharedExpert(ref.index()) : expert(ref.index());
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("model " + directory + " is closed");
        }
    }

    public boolean hasExpert(int e) {
        return experts.containsKey(e);
    }

    /** Shared experts of the layer (loaded or not). */
    public int numSharedExperts() {
        return config.numSharedExperts();
    }

    /** Ids of the loaded routed experts, ascending. */
    public int[] loadedExperts() {
        return experts.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    /** Indices of the loaded shared experts, ascending. */
    public int[] loadedSharedExperts() {
        return shared.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    /** Names of the tensors whose bytes were read while loading, in reading order. */
    public List<String> tensorsRead() {
        return tensorsRead;
    }

    /** Tensor data bytes read while loading. */
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        experts.values().forEach(ExpertFfn::close);
        shared.values().forEach(ExpertFfn::close);
    }

    @Override
    public String toString() {
        return "MoeModel[" + directory + (layer == null ? "" : ", layer " + layer) + ", format="
                + config.format().json() + ", experts=" + config.numExperts() + ", loaded="
                + Arrays.toString(loadedExperts()) + ", shared loaded=" + Arrays.toString(loadedSharedExperts()) + "]";
    }
}
