package io.moestreams.core.hf;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.model.LayerSource;
import io.moestreams.core.routing.Router;
import java.nio.file.Path;
import java.util.List;

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
