package io.moestreams.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.SafetensorsDtype;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe generate-model}: a random model in the real format (moe.json + model.safetensors). */
@Command(
        name = "generate-model",
        mixinStandardHelpOptions = true,
        description = "Write a random model directory in the real format (Mixtral or Switch tensor names).")
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

    @Option(names = "--dtype", defaultValue = "F32", description = "F32, F16 or BF16 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--tensor-prefix", defaultValue = "", description = "Prefix of every tensor name.")
    String tensorPrefix;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--if-absent",
            description = "Do nothing when DIR already holds a moe.json (a one-shot init container or service that "
                    + "must not rewrite a model other processes have mapped).")
    boolean ifAbsent;

    @Override
    public Integer call() throws Exception {
        if (ifAbsent && Files.exists(out.resolve(MoeConfigJson.FILE_NAME))) {
            System.err.println("moe generate-model: " + out + " already holds a model; kept (--if-absent)");
            return 0;
        }
        MoeConfig config =
                config(format, hidden, ffn, experts, router, activation, capacityFactor, overflow, tensorPrefix, seed);
        ModelGenerator.generate(out, config, SafetensorsDtype.parseWritable(dtype));
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
