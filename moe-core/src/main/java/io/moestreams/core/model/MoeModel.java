package io.moestreams.core.model;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.MixtralExpertFfn;
import io.moestreams.core.ffn.SwitchExpertFfn;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.Routers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loaded model directory ({@code moe.json} + {@code model.safetensors}): the configuration, the router and
 * the ND4J FFNs of the selected experts. Only the router's and the selected experts' tensors are read; the
 * others are never mapped. The expert FFNs are not thread-safe (see {@link ExpertFfn}).
 */
public final class MoeModel implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(MoeModel.class);

    /** Name of the weights file inside a model directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";

    private final Path directory;
    private final MoeConfig config;
    private final Router router;
    private final float[] gateWeight;
    private final float[] noiseWeight;
    private final Map<Integer, ExpertFfn> experts;
    private final List<String> tensorsRead;
    private boolean closed;

    private MoeModel(
            Path directory,
            MoeConfig config,
            Router router,
            float[] gateWeight,
            float[] noiseWeight,
            Map<Integer, ExpertFfn> experts,
            List<String> tensorsRead) {
        this.directory = directory;
        this.config = config;
        this.router = router;
        this.gateWeight = gateWeight;
        this.noiseWeight = noiseWeight;
        this.experts = experts;
        this.tensorsRead = tensorsRead;
    }

    /** Loads the router and every expert. */
    public static MoeModel load(Path dir) {
        return load(dir, ExpertSelection.all());
    }

    /**
     * Loads the router and the selected experts. First every expected tensor of the selected parts is checked
     * against the header (name, shape, dtype), then the tensors are read, checked for NaN/Inf and converted.
     *
     * @throws ModelConfigException     naming the file, key or tensor that is missing or wrong
     * @throws IllegalArgumentException if a selected expert id is not below num_experts
     */
    public static MoeModel load(Path dir, ExpertSelection selection) {
        long start = System.nanoTime();
        MoeConfig config = MoeConfigJson.read(dir.resolve(MoeConfigJson.FILE_NAME));
        int[] ids = selection.resolve(config.numExperts());
        Map<Integer, ExpertFfn> experts = new TreeMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(WEIGHTS_FILE))) {
            ModelTensors.Expected gate = ModelTensors.gate(config);
            ModelTensors.Expected noise = ModelTensors.noise(config);
            boolean readNoise = config.router().type() == RouterType.NOISY_TOPK && file.contains(noise.name());
            // validate the header for everything selected before reading any data
            file.requireShape(gate.name(), gate.shape());
            if (readNoise) {
                file.requireShape(noise.name(), noise.shape());
            }
            for (int e : ids) {
                for (ModelTensors.Expected t : ModelTensors.expert(config, e)) {
                    file.requireShape(t.name(), t.shape());
                }
            }
            float[] gateWeight = readFinite(file, gate);
            float[] noiseWeight = readNoise ? readFinite(file, noise) : null;
            Router router = Routers.create(config, gateWeight, noiseWeight);
            try {
                for (int e : ids) {
                    experts.put(e, loadExpert(file, config, e));
                }
            } catch (RuntimeException ex) {
                experts.values().forEach(ExpertFfn::close);
                throw ex;
            }
            List<String> read = List.copyOf(file.tensorsRead());
            MoeModel model = new MoeModel(
                    dir, config, router, gateWeight, noiseWeight, Collections.unmodifiableMap(experts), read);
            LOGGER.info(
                    "Loaded model {}: format {}, {} experts, d={}, f={}, router {}, loaded experts {} in {} ms",
                    dir,
                    config.format().json(),
                    config.numExperts(),
                    config.hiddenSize(),
                    config.intermediateSize(),
                    config.router().type().json(),
                    selection,
                    (System.nanoTime() - start) / 1_000_000);
            return model;
        }
    }

    private static ExpertFfn loadExpert(SafetensorsFile file, MoeConfig config, int e) {
        List<ModelTensors.Expected> names = ModelTensors.expert(config, e);
        List<float[]> w = new ArrayList<>(names.size());
        for (ModelTensors.Expected t : names) {
            w.add(readFinite(file, t));
        }
        int d = config.hiddenSize();
        int f = config.intermediateSize();
        if (config.format() == ModelFormat.SWITCH) {
            return new SwitchExpertFfn(e, d, f, config.activation(), w.get(0), w.get(1));
        }
        return new MixtralExpertFfn(e, d, f, config.activation(), w.get(0), w.get(1), w.get(2));
    }

    private static float[] readFinite(SafetensorsFile file, ModelTensors.Expected t) {
        float[] values = file.readF32(t.name(), t.shape());
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new ModelConfigException(
                        t.name(),
                        "finite values",
                        values[i] + " at element [" + (i / t.cols()) + ", " + (i % t.cols()) + "]");
            }
        }
        return values;
    }

    public Path directory() {
        return directory;
    }

    public MoeConfig config() {
        return config;
    }

    /** The router built from the gate (and noise) weights. Thread-safe. */
    public Router router() {
        return router;
    }

    /** A copy of the gate weight, row-major [E, d]. */
    public float[] gateWeight() {
        return gateWeight.clone();
    }

    /** A copy of {@code noise.weight} [E, d], or null when the model has none (or the router does not use it). */
    public float[] noiseWeight() {
        return noiseWeight == null ? null : noiseWeight.clone();
    }

    /**
     * The FFN of a loaded expert (shared instance, not thread-safe).
     *
     * @throws IllegalArgumentException if e is out of range or the expert was not selected at load time
     */
    public ExpertFfn expert(int e) {
        if (closed) {
            throw new IllegalStateException("model " + directory + " is closed");
        }
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

    public boolean hasExpert(int e) {
        return experts.containsKey(e);
    }

    /** Ids of the loaded experts, ascending. */
    public int[] loadedExperts() {
        return experts.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    /** Names of the tensors whose bytes were read while loading, in reading order. */
    public List<String> tensorsRead() {
        return tensorsRead;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        experts.values().forEach(ExpertFfn::close);
    }

    @Override
    public String toString() {
        return "MoeModel[" + directory + ", format=" + config.format().json() + ", experts=" + config.numExperts()
                + ", loaded=" + Arrays.toString(loadedExperts()) + "]";
    }
}
