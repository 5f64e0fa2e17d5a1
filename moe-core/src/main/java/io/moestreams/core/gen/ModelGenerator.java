package io.moestreams.core.gen;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.ModelTensors;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.model.SafetensorsWriter;
import io.moestreams.core.model.TensorSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a random model directory in the real format ({@code moe.json} + {@code model.safetensors}, the tensor
 * names of docs/architecture.md "Model formats"), for demos, benchmarks and tests. Every weight is drawn from
 * N(0, 1/sqrt(fan_in)) (standard deviation 1/√in), with a generator seeded by the model seed and the tensor
 * name, so a model is reproducible from its arguments. Tensors are generated and written one at a time.
 */
public final class ModelGenerator {

    private static final Logger LOGGER = LoggerFactory.getLogger(ModelGenerator.class);

    private ModelGenerator() {}

    /**
     * @param outDir         model directory (created)
     * @param format         mixtral or switch tensor naming
     * @param hidden         d
     * @param ffn            f
     * @param experts        E
     * @param router         router configuration
     * @param capacityFactor null for no capacity limit
     * @param overflow       overflow policy
     * @param act            expert activation
     * @param dtype          stored dtype: F32, F16 or BF16
     * @param seed           model seed (also written to moe.json for noisy / random routing)
     * @param tensorPrefix   prefix of every tensor name, may be empty
     * @return the configuration written to moe.json
     */
    public static MoeConfig generate(
            Path outDir,
            ModelFormat format,
            int hidden,
            int ffn,
            int experts,
            RouterConfig router,
            Double capacityFactor,
            Overflow overflow,
            Activation act,
            String dtype,
            long seed,
            String tensorPrefix)
            throws IOException {
        MoeConfig config =
                new MoeConfig(format, tensorPrefix, hidden, ffn, experts, router, act, capacityFactor, overflow, seed);
        return generate(outDir, config, SafetensorsDtype.parseWritable(dtype));
    }

    /** Writes a random model for a given configuration. */
    public static MoeConfig generate(Path outDir, MoeConfig config, SafetensorsDtype dtype) throws IOException {
        return generate(outDir, config, dtype, null);
    }

    /**
     * Writes a random model whose router favours {@code hot} (null: no bias): its gate row is scaled so that the
     * router sends about {@code hot.share()} of N(0, 1) tokens to it ({@link HotExpert}).
     */
    public static MoeConfig generate(Path outDir, MoeConfig config, SafetensorsDtype dtype, HotExpert hot)
            throws IOException {
        long start = System.nanoTime();
        List<ModelTensors.Expected> tensors = new ArrayList<>();
        tensors.add(ModelTensors.gate(config));
        if (config.router().type() == RouterType.NOISY_TOPK) {
            tensors.add(ModelTensors.noise(config));
        }
        for (int e = 0; e < config.numExperts(); e++) {
            tensors.addAll(ModelTensors.expert(config, e));
        }
        List<TensorSpec> specs = tensors.stream()
                .map(t -> new TensorSpec(t.name(), dtype, t.shape()))
                .toList();
        MoeConfigJson.writeTo(outDir, config);
        try (SafetensorsWriter writer = SafetensorsWriter.create(
                outDir.resolve(MoeModel.WEIGHTS_FILE),
                specs,
                Map.of(
                        "format",
                        "pt",
                        "generator",
                        "moe-streams ModelGenerator",
                        "seed",
                        Long.toString(config.seed())))) {
            String gateName = ModelTensors.gate(config).name();
            for (ModelTensors.Expected t : tensors) {
                float[] w = randomWeight(config.seed(), t.name(), t.rows(), t.cols());
                if (hot != null && t.name().equals(gateName)) {
                    double factor = hot.apply(config, w);
                    LOGGER.info(
                            "Gate row of expert {} scaled by {} so it takes ~{} of the tokens",
                            hot.expert(),
                            String.format(Locale.ROOT, "%.3g", factor),
                            hot.share());
                }
                writer.write(t.name(), w);
            }
        }
        LOGGER.info(
                "Generated {} model in {}: E={}, d={}, f={}, router {}, dtype {} in {} ms",
                config.format().json(),
                outDir,
                config.numExperts(),
                config.hiddenSize(),
                config.intermediateSize(),
                config.router().type().json(),
                dtype,
                (System.nanoTime() - start) / 1_000_000);
        return config;
    }

    /** The values of one tensor [rows, cols] ~ N(0, 1/sqrt(cols)), seeded by (seed, name). */
    static float[] randomWeight(long seed, String name, int rows, int cols) {
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode());
        double std = 1.0 / Math.sqrt(cols);
        float[] values = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        return values;
    }

    /** A Mixtral-style default: topk_softmax top-2, normalised, silu, no capacity limit, F32, no prefix. */
    public static MoeConfig generateMixtral(Path outDir, int hidden, int ffn, int experts, long seed)
            throws IOException {
        return generate(
                outDir,
                ModelFormat.MIXTRAL,
                hidden,
                ffn,
                experts,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false),
                null,
                Overflow.NONE,
                Activation.SILU,
                "F32",
                seed,
                "");
    }
}
