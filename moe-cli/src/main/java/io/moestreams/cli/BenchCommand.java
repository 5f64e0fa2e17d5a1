package io.moestreams.cli;

import io.moestreams.compute.bench.CoreBench;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moe bench}: benchmarks (speed goals live here, never in unit tests). */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmarks; every ratio is measured within one run.",
            "--core: raw ND4J sgemm rate vs the batched expert FFN at the expert shapes (the default).",
            "--pipeline: the whole platform on the embedded stack: closed-loop and open-loop latency, saturation"
                    + " tokens/s vs the in-process batched layer, broker bytes and CPU per token.",
            "--skew: a router biased so expert 0 takes ~half of the tokens; (a) the default layout vs (b) the layout"
                    + " moe plan derives from (a)'s load record: throughput, lag per expert, a PNG of the lag."
        })
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--core", description = "Run the moe-core benchmark (the default).")
    boolean core;

    @Option(names = "--pipeline", description = "Run the pipeline benchmark on the embedded stack.")
    boolean pipeline;

    @Option(
            names = "--skew",
            description = "Run the skewed-load experiment (embedded stack, services as processes; a few minutes).")
    boolean skew;

    @Option(
            names = "--skew-share",
            defaultValue = "0.48",
            description = "--skew: share of the token choices routed to the hot expert 0, 1/E < share < 0.5 (default"
                    + " ${DEFAULT-VALUE}).")
    double skewShare;

    @Option(
            names = "--skew-top-k",
            defaultValue = "1",
            description = "--skew: experts per token (default ${DEFAULT-VALUE}: the hot expert's share is its share of"
                    + " the load).")
    int skewTopK;

    @Option(
            names = "--skew-workers",
            defaultValue = "4",
            description = "--skew: worker budget of the plan (default ${DEFAULT-VALUE}).")
    int skewWorkers;

    @Option(
            names = "--skew-max-experts-per-worker",
            defaultValue = "4",
            description = "--skew: memory bound of the plan (default ${DEFAULT-VALUE}).")
    int skewMaxExperts;

    @Option(
            names = "--skew-partitions",
            defaultValue = "2",
            description = "--skew: partitions of an expert topic before the plan (default ${DEFAULT-VALUE}).")
    int skewPartitions;

    @Option(
            names = "--skew-burst",
            defaultValue = "100",
            description = "--skew: requests of the saturation burst (default ${DEFAULT-VALUE}).")
    int skewBurst;

    @Option(
            names = "--skew-seconds",
            defaultValue = "20",
            description = "--skew: seconds of the fixed-rate phase (default ${DEFAULT-VALUE}).")
    double skewSeconds;

    @Option(
            names = "--skew-rate",
            defaultValue = "1.5",
            description = "--skew: offered rate of the fixed-rate phase as a multiple of (a)'s burst throughput"
                    + " (default ${DEFAULT-VALUE}).")
    double skewRate;

    @Option(
            names = "--skew-pin",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "--skew: pin each expert process to one CPU with taskset, heaviest first onto the least"
                    + " loaded CPU (default ${DEFAULT-VALUE}; skipped where taskset is missing).")
    boolean skewPin;

    @Option(
            names = "--plot",
            paramLabel = "FILE",
            description = "--skew: the lag plot (PNG; default <workdir>/skew-lag.png).")
    Path plot;

    @Option(
            names = "--processes",
            description = "With --pipeline: run the gateway and the expert workers as separate OS processes.")
    boolean processes;

    @Option(
            names = "--kafka-floor",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description =
                    "--pipeline: first measure the floor of the pipeline's hops on the same broker with bare Kafka"
                            + " clients, no model (default ${DEFAULT-VALUE}; --no-kafka-floor skips it).")
    boolean kafkaFloor;

    @Option(names = "--hidden", description = "--core, --skew: d (default 1024).")
    Integer hidden;

    @Option(names = "--ffn", description = "--core, --skew: f (default 4096; --skew: 8192).")
    Integer ffn;

    @Option(
            names = "--batches",
            split = ",",
            defaultValue = "1,8,32,128,512",
            description = "--core: batch sizes (default ${DEFAULT-VALUE}).")
    int[] batches;

    @Option(
            names = "--shapes",
            split = ",",
            defaultValue = "256x512,1024x4096",
            paramLabel = "DxF",
            description = "--pipeline: model shapes d x f (default ${DEFAULT-VALUE}).")
    List<String> shapes;

    @Option(
            names = "--experts",
            defaultValue = "8",
            description = "--pipeline, --skew: experts E (default ${DEFAULT-VALUE}).")
    int experts;

    @Option(
            names = "--request-tokens",
            description = "--pipeline, --skew: tokens per request (default 16; --skew: 64, so expert compute, not"
                    + " per-request overhead, dominates).")
    Integer requestTokens;

    @Option(
            names = "--closed-loop",
            defaultValue = "300",
            description = "--pipeline: requests sent one at a time (default ${DEFAULT-VALUE}).")
    int closedLoop;

    @Option(
            names = "--burst-tokens",
            defaultValue = "32768",
            description = "--pipeline: tokens sent at once to measure saturation (default ${DEFAULT-VALUE}).")
    int burstTokens;

    @Option(
            names = "--open-loop-seconds",
            defaultValue = "10",
            description = "--pipeline: duration of the fixed-rate phase (default ${DEFAULT-VALUE}).")
    double openLoopSeconds;

    @Option(
            names = "--open-loop-load",
            defaultValue = "0.5",
            description = "--pipeline: offered load of the fixed-rate phase as a fraction of saturation"
                    + " (default ${DEFAULT-VALUE}).")
    double openLoopLoad;

    @Option(
            names = "--max-batch-tokens",
            defaultValue = "512",
            description = "--pipeline: micro-batch bound of the experts and of the in-process yardstick"
                    + " (default ${DEFAULT-VALUE}).")
    int maxBatchTokens;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            description = "--pipeline: a moe.* or Kafka setting for the services (repeatable).")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(
            names = "--workdir",
            defaultValue = ".moe/bench",
            description = "--pipeline, --skew: models and logs (default ${DEFAULT-VALUE}).")
    Path workdir;

    @Option(
            names = "--json",
            paramLabel = "FILE",
            description = "--pipeline, --skew: also write the figures as JSON (default <workdir>/pipeline.json,"
                    + " <workdir>/skew.json).")
    Path json;

    @Override
    public Integer call() throws Exception {
        if (skew && pipeline) {
            throw new ParameterException(spec.commandLine(), "--skew and --pipeline: give one of them");
        }
        if (skew) {
            SkewBench.Options so;
            try {
                so = new SkewBench.Options(
                        experts,
                        hidden != null ? hidden : 1024,
                        ffn != null ? ffn : 8192,
                        skewTopK,
                        skewShare,
                        requestTokens != null ? requestTokens : 64,
                        skewBurst,
                        skewSeconds,
                        skewRate,
                        skewWorkers,
                        skewMaxExperts,
                        skewPartitions,
                        skewPin,
                        workdir,
                        plot != null ? plot : workdir.resolve("skew-lag.png"));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            // progress on stderr, the result lines on stdout
            Map<String, Object> report = new SkewBench(so, System.out, System.err).run();
            Path file = json != null ? json : workdir.resolve("skew.json");
            PipelineBench.writeJson(report, file);
            System.out.println("figures as JSON: " + file);
            return 0;
        }
        if (!pipeline) {
            CoreBench.run(hidden != null ? hidden : 1024, ffn != null ? ffn : 4096, batches, System.out);
            return 0;
        }
        List<int[]> parsed = new ArrayList<>();
        for (String s : shapes) {
            String[] p = s.toLowerCase().split("x");
            try {
                parsed.add(new int[] {Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())});
            } catch (RuntimeException e) {
                throw new ParameterException(spec.commandLine(), "--shapes: expected DxF like 256x512, found " + s);
            }
        }
        PipelineBench.Options o = new PipelineBench.Options(
                parsed,
                experts,
                2,
                requestTokens != null ? requestTokens : 16,
                closedLoop,
                burstTokens,
                openLoopSeconds,
                openLoopLoad,
                maxBatchTokens,
                processes,
                kafkaFloor,
                workdir,
                settings);
        Map<String, Object> report = new PipelineBench(o, System.out).run();
        Path file = json != null ? json : workdir.resolve("pipeline.json");
        PipelineBench.writeJson(report, file);
        System.out.println("\nfigures as JSON: " + file);
        return 0;
    }
}
