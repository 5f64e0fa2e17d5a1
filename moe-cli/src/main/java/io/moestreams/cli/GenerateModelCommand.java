package io.moestreams.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.gen.HfCheckpointGenerator;
import io.moestreams.core.gen.HfCheckpointSpec;
import io.moestreams.core.gen.HotExpert;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.hf.HfCheckpoint;
import io.moestreams.core.model.SafetensorsDtype;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code moe generate-model}: a random model in the real format (moe.json + model.safetensors), or with
 * {@code --hf --family F} a Hugging Face style checkpoint directory of one family.
 */
@Command(
        name = "generate-model",
        mixinStandardHelpOptions = true,
        description = {
            "Write a random model directory in the real format (Mixtral or Switch tensor names),",
            "or with --hf --family F a Hugging Face checkpoint directory (config.json as transformers writes it,",
            "sharded BF16 safetensors with model.safetensors.index.json, other layers and attention included)."
        })
final class GenerateModelCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Option(names = "--format", defaultValue = "mixtral", description = "mixtral or switch (default ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--hidden", defaultValue = "64", description = "Hidden size d (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--ffn", defaultValue = "128", description = "Intermediate size f (default ${DEFAULT-VALUE}).")
    int ffn;

    @Option(names = "--experts", defaultValue = "8", description = "Number of experts E (default ${DEFAULT-VALUE}).")
    int experts;

    @Option(
            names = "--router",
            defaultValue = "{\"type\": \"topk_softmax\", \"top_k\": 2}",
            description = "Router object of moe.json (default ${DEFAULT-VALUE}).")
    String router;

    @Option(names = "--activation", description = "silu, relu or gelu (default silu).")
    String activation;

    @Option(names = "--capacity-factor", description = "Capacity factor; omit or <= 0 for no limit.")
    Double capacityFactor;

    @Option(names = "--overflow", description = "none, drop or reroute (default none).")
    String overflow;

    @Option(names = "--dtype", description = "F32, F16 or BF16 (default F32; BF16 with --hf).")
    String dtype;

    @Option(names = "--hf", description = "Write a Hugging Face checkpoint directory of --family instead of moe.json.")
    boolean hf;

    @Option(
            names = "--family",
            paramLabel = "F",
            description = "With --hf: mixtral, qwen2_moe, qwen3_moe, olmoe, deepseek_v3, deepseek_v2,"
                    + " switch_transformers, granitemoe or gpt_oss (default mixtral).")
    String family;

    @Option(
            names = "--top-k",
            defaultValue = "2",
            description = "With --hf: experts per token (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(
            names = "--layers",
            defaultValue = "4",
            description = "With --hf: decoder layers (default ${DEFAULT-VALUE}).")
    int layers;

    @Option(
            names = "--shards",
            defaultValue = "3",
            description = "With --hf: safetensors shards (default ${DEFAULT-VALUE}).")
    int shards;

    @Option(
            names = "--config-keys",
            defaultValue = "v5",
            description = "With --hf: config.json key names of transformers v5 or v4 (default ${DEFAULT-VALUE}).")
    String configKeys;

    @Option(names = "--tensor-prefix", defaultValue = "", description = "Prefix of every tensor name.")
    String tensorPrefix;

    @Option(
            names = "--hot-expert",
            paramLabel = "E:SHARE",
            description = "Bias the router towards expert E so it takes about SHARE (< 0.5) of N(0,1) tokens, e.g."
                    + " 0:0.45: its gate row is scaled (for skewed-load experiments, moe bench --skew).")
    String hotExpert;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--if-absent",
            description = "Do nothing when DIR already holds a model (moe.json or config.json): for a one-shot init "
                    + "container or service that must not rewrite a model other processes have mapped.")
    boolean ifAbsent;

    @Override
    public Integer call() throws Exception {
        if (ifAbsent
                && (Files.exists(out.resolve(MoeConfigJson.FILE_NAME)) || Files.exists(out.resolve("config.json")))) {
            System.err.println("moe generate-model: " + out + " already holds a model; kept (--if-absent)");
            return 0;
        }
        if (hf || family != null) {
            return generateHf();
        }
        dtype = dtype == null ? "F32" : dtype;
        MoeConfig config =
                config(format, hidden, ffn, experts, router, activation, capacityFactor, overflow, tensorPrefix, seed);
        ModelGenerator.generate(out, config, SafetensorsDtype.parseWritable(dtype), hot(hotExpert));
        System.err.printf(
                "moe generate-model: wrote %s (%s, d=%d, f=%d, E=%d, router %s, %s)%n",
                out,
                config.format().json(),
                hidden,
                ffn,
                experts,
                config.router().type().json(),
                dtype);
        return 0;
    }

    private int generateHf() throws Exception {
        if (!configKeys.equals("v4") && !configKeys.equals("v5")) {
            throw new IllegalArgumentException("--config-keys: expected v4 or v5, found " + configKeys);
        }
        HfCheckpointSpec spec = new HfCheckpointSpec(
                family == null ? "mixtral" : family,
                hidden,
                ffn,
                experts,
                topK,
                layers,
                shards,
                SafetensorsDtype.parseWritable(dtype == null ? "BF16" : dtype),
                seed,
                configKeys.equals("v4"));
        List<String> files = HfCheckpointGenerator.generate(out, spec);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(out)) {
            System.err.printf(
                    "moe generate-model: wrote %s (%s, d=%d, f=%d, E=%d, %d layers, %d shard(s), %s); sparse layers: %s%n",
                    out,
                    spec.family(),
                    hidden,
                    ffn,
                    experts,
                    layers,
                    files.size(),
                    spec.dtype(),
                    checkpoint.sparseLayers());
        }
        return 0;
    }

    /** Parses {@code --hot-expert E:SHARE} (null when not given). */
    static HotExpert hot(String spec) {
        if (spec == null) {
            return null;
        }
        String[] p = spec.split(":");
        try {
            return new HotExpert(Integer.parseInt(p[0].trim()), Double.parseDouble(p[1].trim()));
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("--hot-expert: expected E:SHARE like 0:0.45, found '" + spec + "'");
        }
    }

    /** Builds the configuration through the moe.json parser, so the same validation applies. */
    static MoeConfig config(
            String format,
            int hidden,
            int ffn,
            int experts,
            String routerJson,
            String activation,
            Double capacityFactor,
            String overflow,
            String tensorPrefix,
            long seed)
            throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("format", format);
        root.put("tensor_prefix", tensorPrefix);
        root.put("hidden_size", hidden);
        root.put("intermediate_size", ffn);
        root.put("num_experts", experts);
        root.set("router", json.readTree(routerJson));
        if (activation != null) {
            root.put("activation", activation);
        }
        if (capacityFactor != null) {
            root.put("capacity_factor", capacityFactor);
        } else {
            root.putNull("capacity_factor");
        }
        if (overflow != null) {
            root.put("overflow", overflow);
        }
        root.put("seed", seed);
        return MoeConfigJson.parse(json.writeValueAsString(root));
    }
}
