package io.moestreams.core.model;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.FfnBackend;
import io.moestreams.core.ffn.FfnBackends;
import io.moestreams.core.routing.Router;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One loaded MoE layer: the configuration, the router and the FFNs of the selected routed and shared experts. The
 * layer comes from a {@code moe.json} directory ({@code moe.json} + {@code model.safetensors}) or from one sparse
 * layer ({@code --layer}) of a Hugging Face checkpoint directory ({@code config.json} + shards). Only the router's
 * and the selected experts' bytes are read; the FFNs are built by a {@link FfnBackend} (moe-compute's ND4J one),
 * so moe-core does no FFN arithmetic and a router-only load needs no backend. The expert FFNs are not
 * thread-safe (see {@link ExpertFfn}).
 */
public final class MoeModel implements AutoCloseable {

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

    MoeModel(
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
        return ModelLoader.load(dir, layer, selection, backend);
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
        return ModelLoader.open(dir, layer);
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
