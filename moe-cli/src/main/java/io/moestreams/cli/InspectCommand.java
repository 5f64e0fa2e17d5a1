package io.moestreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.hf.CheckpointInspector;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe inspect}: what a Hugging Face checkpoint holds, for placing its experts. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Describe a Hugging Face checkpoint directory without reading tensor data: family, layers (dense /",
            "sparse), per MoE layer the router, experts, top-k, shared experts, shapes, dtypes, bytes per expert",
            "and the shards that hold it."
        })
final class InspectCommand implements Callable<Integer> {

    private static final Set<String> SKIP = Set.of("layer", "expert_0_tensors", "shared_s0_tensors", "router_tensors");

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint directory.")
    Path model;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ObjectNode report = CheckpointInspector.inspect(model);
        PrintStream out = System.out;
        if (json) {
            out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(report));
            return 0;
        }
        out.printf(
                "%s: %s (%s%s), %s in %d file(s)%n",
                report.get("directory").asText(),
                report.get("model_type").asText(),
                report.path("dtype").asText("dtype unknown"),
                report.path("quantization").isNull()
                        ? ""
                        : ", " + report.get("quantization").asText() + " quantized",
                bytes(report.get("total_bytes").asLong()),
                report.get("shards").size());
        out.printf(
                "layers: %d; sparse (MoE): %s; dense: %s%n",
                report.get("layers").asInt(),
                report.get("sparse_layers").asText(),
                report.get("dense_layers").asText());
        for (JsonNode layer : report.get("moe_layers")) {
            out.printf("%nlayer %s%n", layer.get("layer").asText());
            for (Iterator<Map.Entry<String, JsonNode>> it = layer.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (SKIP.contains(e.getKey())) {
                    continue;
                }
                String v = e.getKey().contains("bytes")
                        ? bytes(e.getValue().asLong())
                        : e.getValue().asText();
                out.printf("  %-24s %s%n", e.getKey().replace('_', ' '), v);
            }
            tensors(out, "router tensors", layer.get("router_tensors"));
            tensors(out, "expert 0 tensors", layer.get("expert_0_tensors"));
            tensors(out, "shared s0 tensors", layer.get("shared_s0_tensors"));
        }
        return 0;
    }

    private static void tensors(PrintStream out, String title, JsonNode list) {
        if (list == null) {
            return;
        }
        out.printf("  %s:%n", title);
        for (JsonNode t : list) {
            out.printf(
                    "    %-60s %-18s %-7s %10s  %s%n",
                    t.get("tensor").asText(),
                    t.get("shape").asText(),
                    t.get("dtype").asText(),
                    bytes(t.get("bytes").asLong()),
                    t.get("shard").asText());
        }
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
