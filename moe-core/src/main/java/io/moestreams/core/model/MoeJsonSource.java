package io.moestreams.core.model;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.ffn.DenseMlpWeights;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.ffn.GatedMlpWeights;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.Routers;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/** A {@code moe.json} model directory ({@code moe.json} + {@code model.safetensors}). */
final class MoeJsonSource implements LayerSource {

    private final Path dir;
    private final MoeConfig config;
    private final SafetensorsFile file;
    private float[] gateWeight;
    private float[] noiseWeight;

    MoeJsonSource(Path dir) {
        this.dir = dir;
        this.config = MoeConfigJson.read(dir.resolve(MoeConfigJson.FILE_NAME));
        this.file = SafetensorsFile.open(dir.resolve(MoeModel.WEIGHTS_FILE));
    }

    @Override
    public MoeConfig config() {
        return config;
    }

    @Override
    public String describe() {
        return "format " + config.format().json() + ", router "
                + config.router().type().json();
    }

    @Override
    public Router loadRouter() {
        ModelTensors.Expected gate = ModelTensors.gate(config);
        ModelTensors.Expected noise = ModelTensors.noise(config);
        boolean readNoise = config.router().type() == RouterType.NOISY_TOPK && file.contains(noise.name());
        file.requireShape(gate.name(), gate.shape());
        if (readNoise) {
            file.requireShape(noise.name(), noise.shape());
        }
        gateWeight = readFinite(gate);
        noiseWeight = readNoise ? readFinite(noise) : null;
        return Routers.create(config, gateWeight, noiseWeight);
    }

    float[] gateWeight() {
        return gateWeight;
    }

    float[] noiseWeight() {
        return noiseWeight;
    }

    @Override
    public void validateExpert(ExpertRef ref) {
        requireRouted(ref);
        for (ModelTensors.Expected t : ModelTensors.expert(config, ref.index())) {
            file.requireShape(t.name(), t.shape());
        }
    }

    @Override
    public ExpertWeights loadExpert(ExpertRef ref) {
        requireRouted(ref);
        List<float[]> w = new ArrayList<>(3);
        for (ModelTensors.Expected t : ModelTensors.expert(config, ref.index())) {
            w.add(readFinite(t));
        }
        int d = config.hiddenSize();
        int f = config.intermediateSize();
        if (config.format() == ModelFormat.SWITCH) {
            return new DenseMlpWeights(ref, d, f, config.activation(), w.get(0), w.get(1));
        }
        return new GatedMlpWeights(ref, d, f, config.activation(), w.get(0), w.get(1), w.get(2));
    }

    private static void requireRouted(ExpertRef ref) {
        if (ref.shared()) {
            throw new IllegalArgumentException(ref + ": a moe.json model has no shared experts");
        }
    }

    private float[] readFinite(ModelTensors.Expected t) {
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

    @Override
    public List<String> layerTensors() {
        List<String> names = new ArrayList<>();
        names.add(ModelTensors.gate(config).name());
        String noise = ModelTensors.noise(config).name();
        if (config.router().type() == RouterType.NOISY_TOPK && file.contains(noise)) {
            names.add(noise);
        }
        for (int e = 0; e < config.numExperts(); e++) {
            for (ModelTensors.Expected t : ModelTensors.expert(config, e)) {
                names.add(t.name());
            }
        }
        return names;
    }

    @Override
    public TensorInfo tensorInfo(String name) {
        return file.info(name);
    }

    @Override
    public void digestTensor(String name, MessageDigest digest) {
        LayerFingerprint.digest(
                digest, file.info(name).byteLength(), (first, count) -> file.readBytes(name, first, count));
    }

    @Override
    public String routingSpec() {
        return LayerFingerprint.canonical(config);
    }

    @Override
    public List<Path> files() {
        return List.of(dir.resolve(MoeConfigJson.FILE_NAME), dir.resolve(MoeModel.WEIGHTS_FILE));
    }

    @Override
    public List<String> tensorsRead() {
        return List.copyOf(file.tensorsRead());
    }

    @Override
    public long bytesRead() {
        return file.bytesRead();
    }

    @Override
    public void close() {
        file.close();
    }
}
