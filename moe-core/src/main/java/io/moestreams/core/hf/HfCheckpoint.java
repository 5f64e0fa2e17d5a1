package io.moestreams.core.hf;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.model.TensorStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Hugging Face checkpoint directory: {@code config.json} + {@code model.safetensors} or
 * {@code model.safetensors.index.json} with its shards. Opening reads config.json and the index only.
 */
public final class HfCheckpoint implements AutoCloseable {

    /** The configuration key (and {@code --layer}) that picks the MoE layer. */
    public static final String LAYER_KEY = "moe.model.layer";

    private final Path dir;
    private final HfConfig config;
    private final HfFamily family;
    private final TensorStore store;
    private final WeightReader reader;

    private HfCheckpoint(Path dir, HfConfig config, HfFamily family, TensorStore store) {
        this.dir = dir;
        this.config = config;
        this.family = family;
        this.store = store;
        int[] block = HfBlocks.fp8BlockSize(config);
        this.reader = new WeightReader(store, block[0], block[1]);
    }

    /** True if {@code dir} holds a {@code config.json}. */
    public static boolean isCheckpoint(Path dir) {
        return Files.isRegularFile(dir.resolve(HfConfig.FILE_NAME));
    }

    /**
     * @throws ModelConfigException naming config.json, model_type or the weights files
     */
    public static HfCheckpoint open(Path dir) {
        HfConfig config = HfConfig.read(dir.resolve(HfConfig.FILE_NAME));
        HfFamily family = HfFamilies.forModelType(config.modelType());
        TensorStore store = TensorStore.open(dir);
        return new HfCheckpoint(dir, config, family, store);
    }

    public Path directory() {
        return dir;
    }

    public HfConfig config() {
        return config;
    }

    public HfFamily family() {
        return family;
    }

    public TensorStore store() {
        return store;
    }

    public WeightReader reader() {
        return reader;
    }

    public List<HfLayer> layers() {
        return family.layers(config);
    }

    /** The names of the sparse layers, compacted ({@code 3-60}). */
    public String sparseLayers() {
        return HfBlocks.compact(
                layers().stream().filter(HfLayer::sparse).map(HfLayer::name).toList());
    }

    /**
     * The MoE block of layer {@code name}.
     *
     * @throws ModelConfigException naming {@code moe.model.layer (--layer)} when the layer is missing, unknown or
     *                              dense, with the sparse layers
     */
    public HfMoeBlock block(String name) {
        String key = LAYER_KEY + " (--layer)";
        if (name == null || name.isBlank()) {
            throw new ModelConfigException(
                    key,
                    "required for a Hugging Face checkpoint (" + family.modelType() + " in " + dir
                            + "); its sparse layers: " + sparseLayers());
        }
        List<HfLayer> layers = layers();
        HfLayer layer = layers.stream()
                .filter(l -> l.name().equals(name.trim()))
                .findFirst()
                .orElseThrow(() -> new ModelConfigException(
                        key,
                        "a layer of this " + family.modelType() + " checkpoint: "
                                + HfBlocks.compact(
                                        layers.stream().map(HfLayer::name).toList()),
                        name));
        if (!layer.sparse()) {
            throw new ModelConfigException(
                    key,
                    "layer " + name + " of this " + family.modelType()
                            + " checkpoint is dense (no MoE block); its sparse layers: " + sparseLayers());
        }
        return family.block(config, store, layer);
    }

    @Override
    public void close() {
        store.close();
    }

    @Override
    public String toString() {
        return "HfCheckpoint[" + dir + ", " + family.modelType() + "]";
    }
}
