package io.moestreams.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.gen.HfCheckpointGenerator;
import io.moestreams.core.gen.HfCheckpointSpec;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.gen.RequestGenerator;
import io.moestreams.core.hf.HfCheckpoint;
import io.moestreams.core.hf.HfLayer;
import io.moestreams.core.jsonl.RequestJsonlReader;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.core.reference.ReferenceMoeLayer;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.Topics;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code moe demo}: the main job. Generates a model and requests, starts the embedded broker and registry, the
 * gateway and two expert processes, sends the requests, and reports load, drops, latency, throughput and the
 * largest difference from the in-process reference.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = "Run the whole platform embedded on a generated model and compare with the reference.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--requests", defaultValue = "300", description = "Requests to send (default ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--hidden", defaultValue = "256", description = "Hidden size d (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--ffn", defaultValue = "512", description = "Intermediate size f (default ${DEFAULT-VALUE}).")
    int ffn;

    @Option(names = "--experts", defaultValue = "8", description = "Experts E (default ${DEFAULT-VALUE}).")
    int experts;

    @Option(names = "--min-len", defaultValue = "4", description = "Shortest sequence (default ${DEFAULT-VALUE}).")
    int minLen;

    @Option(names = "--max-len", defaultValue = "48", description = "Longest sequence (default ${DEFAULT-VALUE}).")
    int maxLen;

    @Option(
            names = "--capacity-factor",
            defaultValue = "1.25",
            description = "Capacity factor with overflow=drop (default ${DEFAULT-VALUE}; <= 0: dropless).")
    double capacityFactor;

    @Option(names = "--workdir", defaultValue = ".moe/demo", description = "Where the model and files go.")
    Path workdir;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--family",
            paramLabel = "F",
            description = "Run on a generated Hugging Face checkpoint of this family (mixtral, qwen3_moe, olmoe,"
                    + " switch_transformers, granitemoe, gpt_oss, ...; 3 BF16 shards, its first MoE layer) instead of"
                    + " a moe.json model.")
    String family;

    /** Requests sent (and answered) before the measured run. */
    static final int WARMUP = 100;

    /** Relative tolerance of the comparison with the reference. */
    static final double TOLERANCE = 1e-5;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        Files.createDirectories(workdir);
        Path modelDir = workdir.resolve(family == null ? "model" : "model-" + family);
        Path requestsFile = workdir.resolve("requests.jsonl");
        String layer = null;
        String modelText;
        if (family != null) {
            HfCheckpointSpec spec =
                    new HfCheckpointSpec(family, hidden, ffn, experts, 2, 4, 3, SafetensorsDtype.BF16, seed, false);
            HfCheckpointGenerator.generate(modelDir, spec);
            try (HfCheckpoint checkpoint = HfCheckpoint.open(modelDir)) {
                layer = checkpoint.layers().stream()
                        .filter(HfLayer::sparse)
                        .findFirst()
                        .orElseThrow()
                        .name();
            }
            MoeConfig hf = MoeModel.readConfig(modelDir, layer);
            if (hf.numSharedExperts() > 0) {
                System.err.printf(
                        "moe demo: %s has shared experts, which the Kafka pipeline does not serve yet; try moe reference"
                                + " --model %s --layer %s%n",
                        family, modelDir, layer);
                return 2;
            }
            modelText = String.format(
                    "%s checkpoint (3 BF16 shards) layer %s: d=%d f=%d E=%d top-%d, router %s",
                    family,
                    layer,
                    hidden,
                    ffn,
                    experts,
                    hf.router().topK(),
                    hf.router().type().json());
        } else {
            modelText = generateMoeJson(modelDir);
        }
        RequestGenerator.generate(requestsFile, requests, hidden, minLen, maxLen, seed + 1);
        List<RequestLine> lines = new ArrayList<>();
        try (RequestJsonlReader in = RequestJsonlReader.open(requestsFile, hidden)) {
            for (RequestLine l = in.next(); l != null; l = in.next()) {
                lines.add(l);
            }
        }
        long totalTokens = lines.stream().mapToLong(RequestLine::seqLen).sum();
        out.printf("model: %s -> %s%n", modelText, modelDir);
        return run(out, modelDir, layer, requestsFile, lines, totalTokens);
    }

    private String generateMoeJson(Path modelDir) throws Exception {
        MoeConfig config = GenerateModelCommand.config(
                "mixtral",
                hidden,
                ffn,
                experts,
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "silu",
                capacityFactor,
                capacityFactor > 0 ? "drop" : "none",
                "",
                seed);
        ModelGenerator.generate(modelDir, config, SafetensorsDtype.parseWritable("F32"));
        return String.format(
                "mixtral d=%d f=%d E=%d top-2, capacity factor %s (drop)",
                hidden, ffn, experts, capacityFactor > 0 ? Double.toString(capacityFactor) : "none");
    }

    private int run(
            PrintStream out, Path modelDir, String layer, Path requestsFile, List<RequestLine> lines, long totalTokens)
            throws Exception {
        out.printf(
                "requests: %d (%d tokens, %d..%d per sequence) -> %s%n",
                lines.size(), totalTokens, minLen, maxLen, requestsFile);

        EmbeddedStack stack = EmbeddedStack.start();
        Map<String, InferenceClient.Answer> answers;
        double pipelineSecs;
        try {
            out.printf(
                    "embedded Kafka %s (%d ms), schema registry %s (%d ms)%n",
                    stack.bootstrapServers(),
                    stack.startupMillis().brokerMillis(),
                    stack.schemaRegistryUrl(),
                    stack.startupMillis().registryMillis());
            Set<Integer> first = new TreeSet<>();
            Set<Integer> second = new TreeSet<>();
            for (int e = 0; e < experts; e++) {
                (e < (experts + 1) / 2 ? first : second).add(e);
            }
            List<Set<Integer>> groups = second.isEmpty() ? List.of(first) : List.of(first, second);
            Map<String, String> layerSetting = layer == null ? Map.of() : Map.of(GatewayConfig.MODEL_LAYER, layer);
            LocalPipeline pipeline = LocalPipeline.start(
                    modelDir,
                    stack.bootstrapServers(),
                    stack.schemaRegistryUrl(),
                    Topics.DEFAULT_PREFIX,
                    groups,
                    layerSetting,
                    layerSetting,
                    new SimpleMeterRegistry());
            try {
                out.printf("gateway + combiner up; expert processes serving %s%n", groups);
                List<InferenceClient.Input> inputs =
                        lines.stream().map(Conversions::input).toList();
                try (InferenceClient client = new InferenceClient(
                        stack.bootstrapServers(), stack.schemaRegistryUrl(), new Topics(), Map.of())) {
                    // Warm-up: the first transactions, fetch sessions and JIT of every hop, not counted below.
                    List<InferenceClient.Input> warmup = new ArrayList<>();
                    for (int i = 0; i < WARMUP && i < inputs.size(); i++) {
                        InferenceClient.Input in = inputs.get(i);
                        warmup.add(new InferenceClient.Input("warmup-" + i, in.tokens(), in.seqLen(), in.hiddenSize()));
                    }
                    long w0 = System.nanoTime();
                    client.run(warmup, Duration.ofMinutes(2), n -> {});
                    out.printf(
                            "warm-up: %d requests answered in %.2f s%n", warmup.size(), (System.nanoTime() - w0) / 1e9);
                    ProgressBar bar = new ProgressBar(System.err, "requests", inputs.size());
                    long t0 = System.nanoTime();
                    answers = client.run(inputs, Duration.ofMinutes(3), bar::update);
                    pipelineSecs = (System.nanoTime() - t0) / 1e9;
                }
            } finally {
                pipeline.close();
            }
        } finally {
            stack.close();
        }

        // The in-process reference on the same requests.
        List<LayerOutput> reference = new ArrayList<>();
        long r0 = System.nanoTime();
        try (MoeModel model = MoeModel.load(modelDir, layer, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer referenceLayer = new ReferenceMoeLayer(model);
            for (RequestLine l : lines) {
                reference.add(referenceLayer.forward(l.id(), l.tokens(), l.seqLen()));
            }
        }
        double referenceSecs = (System.nanoTime() - r0) / 1e9;

        long[] load = new long[experts];
        long dropped = 0;
        int notOk = 0;
        int routingMismatches = 0;
        double maxAbsDiff = 0;
        double maxAbsRef = 0;
        long[] latencies = new long[lines.size()];
        for (int i = 0; i < lines.size(); i++) {
            RequestLine l = lines.get(i);
            InferenceClient.Answer a = answers.get(l.id());
            latencies[i] = a.latencyNanos();
            ResponseLine got = Conversions.line(a.response());
            if (got.status() != ResponseStatus.OK) {
                notOk++;
                continue;
            }
            LayerOutput ref = reference.get(i);
            dropped += got.dropped().length;
            for (int[] te : got.experts()) {
                for (int e : te) {
                    load[e]++;
                }
            }
            if (!Arrays.deepEquals(got.experts(), ref.assignment().experts())
                    || !Arrays.equals(got.dropped(), ref.assignment().dropped())) {
                routingMismatches++;
            }
            float[] o = got.output();
            float[] r = ref.output();
            for (int j = 0; j < r.length; j++) {
                maxAbsRef = Math.max(maxAbsRef, Math.abs(r[j]));
                maxAbsDiff = Math.max(maxAbsDiff, Math.abs((double) o[j] - r[j]));
            }
        }
        Arrays.sort(latencies);
        out.println();
        out.println("per-expert load (token-choices served):");
        long maxLoad = Arrays.stream(load).max().orElse(1);
        for (int e = 0; e < experts; e++) {
            int bar = (int) (40 * load[e] / Math.max(1, maxLoad));
            out.printf("  expert %2d %7d  %s%n", e, load[e], "#".repeat(bar));
        }
        out.printf("dropped tokens: %d of %d (%.2f%%)%n", dropped, totalTokens, 100.0 * dropped / totalTokens);
        out.printf(
                "latency (all %d requests sent at once): p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                lines.size(),
                pct(latencies, 0.50) / 1e6,
                pct(latencies, 0.99) / 1e6,
                latencies[latencies.length - 1] / 1e6);
        out.printf(
                "throughput: pipeline %.0f tokens/s (%d requests in %.2f s); reference in-process %.0f tokens/s%n",
                totalTokens / pipelineSecs, lines.size(), pipelineSecs, totalTokens / referenceSecs);
        double rel = maxAbsRef == 0 ? maxAbsDiff : maxAbsDiff / maxAbsRef;
        out.printf(
                "max |pipeline - reference| = %.3g (%.3g of max |reference| = %.3g); routing mismatches: %d; "
                        + "non-OK responses: %d%n",
                maxAbsDiff, rel, maxAbsRef, routingMismatches, notOk);
        boolean ok = notOk == 0 && routingMismatches == 0 && maxAbsDiff <= TOLERANCE * maxAbsRef;
        out.println(
                ok
                        ? "demo: OK — the pipeline equals the reference (tolerance 1e-5 relative)"
                        : "demo: FAILED — the pipeline differs from the reference");
        return ok ? 0 : 1;
    }

    private static long pct(long[] sorted, double p) {
        int idx = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }
}
