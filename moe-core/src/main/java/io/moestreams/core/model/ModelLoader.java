package io.moestreams.core.model;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.ffn.FfnBackend;
import io.moestreams.core.hf.HfCheckpoint;
import io.moestreams.core.hf.HfConfig;
import io.moestreams.core.hf.HfLayerSource;
import io.moestreams.core.routing.Router;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a {@link MoeModel} is loaded: which {@link LayerSource} a directory is (moe.json or one layer of a Hugging
 * Face checkpoint), the order of reading (router, then every selected expert validated against the headers, then
 * the expert bytes) and cleaning up the FFNs already built when a later one fails.
 */
final class ModelLoader {

    private static final Logger LOGGER = LoggerFactory.getLogger(ModelLoader.class);

    private ModelLoader() {}

    /** See {@link MoeModel#load(Path, String, ExpertSelection, FfnBackend)}. */
    static MoeModel load(Path dir, String layer, ExpertSelection selection, FfnBackend backend) {
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

    /** Opens a moe.json directory or one layer of a Hugging Face checkpoint (see {@link MoeModel#open}). */
    static LayerSource open(Path dir, String layer) {
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
}
