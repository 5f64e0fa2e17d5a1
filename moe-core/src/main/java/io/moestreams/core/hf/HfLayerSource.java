package io.moestreams.core.hf;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.core.model.LayerSource;
import io.moestreams.core.model.TensorInfo;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.routing.Router;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** One MoE layer of a Hugging Face checkpoint as a {@link LayerSource}. */
public final class HfLayerSource implements LayerSource {

    private final HfCheckpoint checkpoint;
    private final HfMoeBlock block;

    private HfLayerSource(HfCheckpoint checkpoint, HfMoeBlock block) {
        this.checkpoint = checkpoint;
        this.block = block;
    }

    /**
     * Opens layer {@code layer} of the checkpoint in {@code dir}.
     *
     * @throws io.moestreams.core.config.ModelConfigException naming the file, key or layer that is wrong
     */
    public static HfLayerSource open(Path dir, String layer) {
        HfCheckpoint checkpoint = HfCheckpoint.open(dir);
        try {
            return new HfLayerSource(checkpoint, checkpoint.block(layer));
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public HfMoeBlock block() {
        return block;
    }

    @Override
    public MoeConfig config() {
        return block.config();
    }

    @Override
    public String describe() {
        return block.modelType() + " layer " + block.layer() + " (" + block.prefix() + ")";
    }

    @Override
    public Router loadRouter() {
        return block.router().load(checkpoint.reader());
    }

    private ExpertLayout layout(ExpertRef ref) {
        ExpertLayout layout = ref.shared() ? block.shared() : block.experts();
        if (layout == null || ref.index() >= layout.count()) {
            throw new IllegalArgumentException(ref + " does not exist in " + describe() + ": it has "
                    + block.config().numExperts() + " experts and " + block.numShared() + " shared experts");
        }
        return layout;
    }

    @Override
    public void validateExpert(ExpertRef ref) {
        layout(ref).validate(checkpoint.reader(), ref.index());
    }

    @Override
    public ExpertWeights loadExpert(ExpertRef ref) {
        return layout(ref).load(checkpoint.reader(), ref);
    }

    @Override
    public List<String> layerTensors() {
        Set<String> names = new LinkedHashSet<>(block.routerTensors());
        for (ExpertLayout layout : new ExpertLayout[] {block.experts(), block.shared()}) {
            if (layout == null) {
                continue;
            }
            for (int i = 0; i < layout.count(); i++) {
                for (TensorPart part : layout.parts(checkpoint.reader(), i)) {
                    names.add(part.tensor());
                }
            }
        }
        return List.copyOf(names);
    }

    @Override
    public TensorInfo tensorInfo(String name) {
        return checkpoint.store().info(name);
    }

    @Override
    public void digestTensor(String name, MessageDigest digest) {
        checkpoint.store().digest(name, digest);
    }

    @Override
    public String routingSpec() {
        StringBuilder sb = new StringBuilder(LayerFingerprint.canonical(block.config()));
        sb.append("model_type=").append(block.modelType()).append('\n');
        sb.append("layer=").append(block.layer()).append('\n');
        for (Map.Entry<String, String> e : new TreeMap<>(block.details()).entrySet()) {
            sb.append("detail.")
                    .append(e.getKey())
                    .append('=')
                    .append(e.getValue())
                    .append('\n');
        }
        return sb.toString();
    }

    @Override
    public List<Path> files() {
        TensorStore store = checkpoint.store();
        Set<Path> files = new LinkedHashSet<>();
        files.add(checkpoint.directory().resolve(HfConfig.FILE_NAME));
        if (store.sharded()) {
            files.add(checkpoint.directory().resolve(TensorStore.INDEX_FILE));
        }
        for (String name : layerTensors()) {
            files.add(checkpoint.directory().resolve(store.shardOf(name)));
        }
        return new ArrayList<>(files);
    }

    @Override
    public List<String> tensorsRead() {
        return checkpoint.store().tensorsRead();
    }

    @Override
    public long bytesRead() {
        return checkpoint.store().bytesRead();
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
