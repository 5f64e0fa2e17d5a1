package io.moestreams.cli;

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
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.core.reference.ReferenceMoeLayer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code moe demo}: the main job. Generates a model and requests, runs them through the whole platform embedded
 * ({@link DemoPipelineRun}) and through the in-process reference, and reports load, drops, latency, throughput and
 * the largest difference from the reference ({@link DemoReport}).
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

    /** The model the demo runs on: its directory, its layer (Hugging Face checkpoints only) and a description. */
    private record DemoModel(Path dir, String layer, String description) {}

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        Files.createDirectories(workdir);
        DemoModel model = family == null ? generateMoeJson() : generateCheckpoint();
        Path requestsFile = workdir.resolve("requests.jsonl");
        List<RequestLine> lines = generateRequests(requestsFile);
        long totalTokens = lines.stream().mapToLong(RequestLine::seqLen).sum();
        out.printf("model: %s -> %s%n", model.description(), model.dir());
        out.printf(
                "requests: %d (%d tokens, %d..%d per sequence) -> %s%n",
                lines.size(), totalTokens, minLen, maxLen, requestsFile);

        DemoPipelineRun pipeline = DemoPipelineRun.run(
                out,
                model.dir(),
                model.layer(),
                experts,
                lines.stream().map(Conversions::input).toList());
        long r0 = System.nanoTime();
        List<LayerOutput> reference = reference(model, lines);
        double referenceSecs = (System.nanoTime() - r0) / 1e9;

        DemoReport report = DemoReport.compare(lines, pipeline.answers(), reference, experts);
        report.print(out, totalTokens, pipeline.seconds(), referenceSecs);
        return report.ok() ? 0 : 1;
    }

    /** A moe.json model: mixtral-like, top-2, capacity factor {@code --capacity-factor} with overflow=drop. */
    private DemoModel generateMoeJson() throws Exception {
        Path modelDir = workdir.resolve("model");
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
        return new DemoModel(
                modelDir,
                null,
                String.format(
                        "mixtral d=%d f=%d E=%d top-2, capacity factor %s (drop)",
                        hidden, ffn, experts, capacityFactor > 0 ? Double.toString(capacityFactor) : "none"));
    }

    /** A Hugging Face checkpoint of {@code --family} (3 BF16 shards); the demo runs on its first MoE layer. */
    private DemoModel generateCheckpoint() throws Exception {
        Path modelDir = workdir.resolve("model-" + family);
        HfCheckpointSpec spec =
                new HfCheckpointSpec(family, hidden, ffn, experts, 2, 4, 3, SafetensorsDtype.BF16, seed, false);
        HfCheckpointGenerator.generate(modelDir, spec);
        String layer;
        try (HfCheckpoint checkpoint = HfCheckpoint.open(modelDir)) {
            layer = checkpoint.layers().stream()
                    .filter(HfLayer::sparse)
                    .findFirst()
                    .orElseThrow()
                    .name();
        }
        MoeConfig hf = MoeModel.readConfig(modelDir, layer);
        return new DemoModel(
                modelDir,
                layer,
                String.format(
                        "%s checkpoint (3 BF16 shards) layer %s: d=%d f=%d E=%d top-%d, router %s",
                        family,
                        layer,
                        hidden,
                        ffn,
                        experts,
                        hf.router().topK(),
                        hf.router().type().json()));
    }

    private List<RequestLine> generateRequests(Path requestsFile) throws Exception {
        RequestGenerator.generate(requestsFile, requests, hidden, minLen, maxLen, seed + 1);
        List<RequestLine> lines = new ArrayList<>();
        try (RequestJsonlReader in = RequestJsonlReader.open(requestsFile, hidden)) {
            for (RequestLine l = in.next(); l != null; l = in.next()) {
                lines.add(l);
            }
        }
        return lines;
    }

    /** The in-process reference on the same requests. */
    private static List<LayerOutput> reference(DemoModel model, List<RequestLine> lines) {
        List<LayerOutput> reference = new ArrayList<>();
        try (MoeModel loaded = MoeModel.load(model.dir(), model.layer(), ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer referenceLayer = new ReferenceMoeLayer(loaded);
            for (RequestLine l : lines) {
                reference.add(referenceLayer.forward(l.id(), l.tokens(), l.seqLen()));
            }
        }
        return reference;
    }
}
