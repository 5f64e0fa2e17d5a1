package io.moestreams.cli;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.gen.HotExpert;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.placement.Eplb;
import io.moestreams.core.placement.PlacementPlanner;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.schemas.Topics;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code moe bench --skew}: a router biased so expert 0 takes about half of the tokens, on the embedded broker with
 * the gateway and one-core expert workers as OS processes ({@link SkewPhase}). (a) The default layout (two processes
 * splitting the experts, one consumer per expert): the hot expert's lag grows while the others idle. (b) The layout
 * {@code moe plan} derives from (a)'s expert load record for a worker budget: groups, replicas and partitions. Both
 * get the same requests at the same offered rate (a multiple of (a)'s burst rate); the lag per expert over time goes
 * to a PNG, the figures to a map for JSON. Progress goes to {@code progress}, the result lines to {@code out}.
 */
final class SkewBench {

    /** What to run. */
    record Options(
            int experts,
            int hidden,
            int ffn,
            int topK,
            double share,
            int requestTokens,
            int burstRequests,
            double openLoopSeconds,
            double rateFactor,
            int workers,
            int maxExpertsPerWorker,
            int partitions,
            boolean pin,
            Path workdir,
            Path png) {
        Options {
            if (experts < 2) {
                throw new IllegalArgumentException("--experts: expected >= 2 for a skew, found " + experts);
            }
            if (!(share > 1.0 / experts && share < 0.5)) {
                throw new IllegalArgumentException("--skew-share: expected 1/E < share < 0.5 (1/E = " + 1.0 / experts
                        + "; a scaled gate row cannot reach half of the tokens), found " + share);
            }
            if (burstRequests < 1 || openLoopSeconds <= 0 || rateFactor <= 0 || requestTokens < 1) {
                throw new IllegalArgumentException(
                        "--skew-burst, --skew-seconds, --skew-rate and --request-tokens: expected > 0");
            }
            if (workers < 1 || maxExpertsPerWorker < 1 || partitions < 1) {
                throw new IllegalArgumentException(
                        "--skew-workers, --skew-max-experts-per-worker and --skew-partitions: expected >= 1");
            }
        }
    }

    private final Options o;
    private final PrintStream out;
    private final PrintStream progress;

    SkewBench(Options options, PrintStream out, PrintStream progress) {
        this.o = options;
        this.out = out;
        this.progress = progress;
    }

    Map<String, Object> run() throws Exception {
        Path model = model();
        Map<String, Object> report = new LinkedHashMap<>();
        try (EmbeddedStack stack = EmbeddedStack.start()) {
            progress.printf(
                    Locale.ROOT,
                    "embedded Kafka %s; model d=%d f=%d E=%d top-%d, expert 0 favoured (~%.0f%% of the token"
                            + " choices); expert workers compute on one thread each%n",
                    stack.bootstrapServers(),
                    o.hidden(),
                    o.ffn(),
                    o.experts(),
                    o.topK(),
                    100 * o.share());
            List<Integer> cpus = o.pin() ? CpuPinning.available() : List.of();
            progress.println(
                    cpus.isEmpty()
                            ? "expert processes are not pinned (--no-skew-pin, or no taskset / CPU list here)"
                            : "expert processes pinned to CPUs " + cpus + " with taskset");
            SkewPhase phase = new SkewPhase(o, stack, model, cpus, progress);
            List<SkewPhase.Worker> before = PipelineBench.expertGroups(o.experts()).stream()
                    .map(g -> new SkewPhase.Worker(g, 1, 0))
                    .toList();
            SkewPhase.Layout a = new SkewPhase.Layout("(a) without scaling", "skewa.", before, Map.of());
            progress.printf("%n== %s: %s, %d partitions per expert topic ==%n", a.name(), before, o.partitions());
            long from = System.currentTimeMillis();
            SkewPhase.Result ra = phase.run(a, 0);
            long to = System.currentTimeMillis();

            double[] loads = recordedLoads(stack, a.prefix(), from, to);
            PlacementPlanner.Plan plan =
                    PlacementPlanner.plan(loads, o.workers(), o.maxExpertsPerWorker(), o.partitions());
            Eplb eplb = Eplb.place(loads, o.workers(), o.maxExpertsPerWorker());
            double total = 0;
            for (double l : loads) {
                total += l;
            }
            StringBuilder shares = new StringBuilder();
            for (int e = 0; e < loads.length; e++) {
                shares.append(String.format(Locale.ROOT, " %d:%.1f%%", e, 100 * loads[e] / total));
            }
            List<SkewPhase.Worker> workers = new ArrayList<>();
            for (PlacementPlanner.Group g : plan.groups()) {
                workers.add(new SkewPhase.Worker(K8sManifests.ids(g.experts()), g.replicas(), g.loadPerReplica()));
            }
            Map<Integer, Integer> partitions = new LinkedHashMap<>();
            for (int e = 0; e < loads.length; e++) {
                if (plan.partitions()[e] != o.partitions()) {
                    partitions.put(e, plan.partitions()[e]);
                }
            }
            String args = PlanCommand.k8sArgs(plan, o.partitions());
            progress.printf("%nrecorded load of (a) (expert-load topic), share of the dispatched tokens:%s%n", shares);
            progress.printf(
                    Locale.ROOT,
                    "moe plan for %d workers (<= %d experts each): %s%n  most loaded worker %.0f tokens/s, EPLB %.0f,"
                            + " ideal %.0f%n",
                    o.workers(),
                    o.maxExpertsPerWorker(),
                    args,
                    plan.maxWorkerLoad(),
                    eplb.maxWorkerLoad(),
                    total / o.workers());
            SkewPhase.Layout b = new SkewPhase.Layout("(b) with moe plan", "skewb.", workers, partitions);
            progress.printf("%n== %s: %s, partitions %s ==%n", b.name(), workers, partitions);
            SkewPhase.Result rb = phase.run(b, ra.offeredTokensPerSec());

            printResult(ra, rb);
            LagPlot.write(
                    o.png(),
                    "consumer lag (records)",
                    List.of(
                            new LagPlot.Series(a.name() + ": " + before, ra.lag()),
                            new LagPlot.Series(b.name() + ": " + workers, rb.lag())));
            out.printf("lag plot: %s%n", o.png().toAbsolutePath());
            report.put("model", Map.of("hidden", o.hidden(), "ffn", o.ffn(), "experts", o.experts(), "topK", o.topK()));
            report.put("hotShareTarget", o.share());
            report.put("pinnedCpus", cpus);
            report.put("recordedTokensPerSecByExpert", loads);
            report.put("plan", args);
            report.put("planMaxWorkerLoad", plan.maxWorkerLoad());
            report.put("eplbMaxWorkerLoad", eplb.maxWorkerLoad());
            report.put("before", summary(ra));
            report.put("after", summary(rb));
            report.put("burstRatio", rb.burstTokensPerSec() / ra.burstTokensPerSec());
            report.put("openLoopRatio", rb.openLoopTokensPerSec() / ra.openLoopTokensPerSec());
            report.put("plot", o.png().toAbsolutePath().toString());
        }
        return report;
    }

    /** The biased model, generated once per shape into the workdir. */
    private Path model() throws Exception {
        Path model = o.workdir()
                .resolve(String.format(
                        Locale.ROOT,
                        "skew-model-d%d-f%d-e%d-k%d-s%.2f",
                        o.hidden(),
                        o.ffn(),
                        o.experts(),
                        o.topK(),
                        o.share()));
        if (!Files.exists(model.resolve("moe.json"))) {
            progress.printf("generating the biased model into %s%n", model);
            MoeConfig config = GenerateModelCommand.config(
                    "mixtral",
                    o.hidden(),
                    o.ffn(),
                    o.experts(),
                    "{\"type\": \"topk_softmax\", \"top_k\": " + o.topK() + "}",
                    "silu",
                    null,
                    "none",
                    "",
                    7);
            ModelGenerator.generate(model, config, SafetensorsDtype.parseWritable("F32"), new HotExpert(0, o.share()));
        }
        return model;
    }

    private void printResult(SkewPhase.Result ra, SkewPhase.Result rb) {
        out.printf(
                Locale.ROOT,
                "%n== moe bench --skew: one run, same requests, fixed rate %.0f tokens/s for %.0f s ==%n",
                ra.offeredTokensPerSec(),
                o.openLoopSeconds());
        for (SkewPhase.Result r : List.of(ra, rb)) {
            out.printf(
                    Locale.ROOT,
                    "%-20s burst %6.0f tokens/s | fixed rate: %6.0f tokens/s delivered, drained %5.1f s after the"
                            + " last send, %d not OK | max lag: hot expert %d records, others %d%n",
                    r.layout().name(),
                    r.burstTokensPerSec(),
                    r.openLoopTokensPerSec(),
                    r.drainSeconds(),
                    r.notOk(),
                    r.maxHotLag(),
                    r.maxOtherLag());
        }
        out.printf(
                Locale.ROOT,
                "after / before: burst throughput x%.2f, fixed-rate throughput x%.2f, hot expert's max lag x%.2f%n",
                rb.burstTokensPerSec() / ra.burstTokensPerSec(),
                rb.openLoopTokensPerSec() / ra.openLoopTokensPerSec(),
                (double) rb.maxHotLag() / Math.max(1, ra.maxHotLag()));
    }

    private static Map<String, Object> summary(SkewPhase.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layout", r.layout().workers().toString());
        m.put("expertPartitionOverrides", r.layout().expertPartitions());
        m.put("burstTokensPerSec", r.burstTokensPerSec());
        m.put("offeredTokensPerSec", r.offeredTokensPerSec());
        m.put("fixedRateDeliveredTokensPerSec", r.openLoopTokensPerSec());
        m.put("drainSeconds", r.drainSeconds());
        m.put("notOk", r.notOk());
        m.put("maxHotLagRecords", r.maxHotLag());
        m.put("maxOtherLagRecords", r.maxOtherLag());
        m.put("lagSamples", r.lag()); // {seconds, lag of expert 0, lag of expert 1, ...}
        return m;
    }

    /** Tokens per second dispatched to each routed expert over the phase, from the expert load record. */
    private double[] recordedLoads(EmbeddedStack stack, String prefix, long fromMs, long toMs) {
        try (LoadHistory h = new LoadHistory(
                stack.bootstrapServers(), stack.schemaRegistryUrl(), new Topics(prefix), Map.of(), fromMs - 5_000)) {
            h.catchUp(Duration.ofSeconds(30));
            Map<String, LoadHistory.Totals> byLayer = LoadHistory.totals(h.records(), fromMs - 5_000, toMs);
            if (byLayer.isEmpty()) {
                throw new IllegalStateException("no expert load record on " + new Topics(prefix).expertLoad()
                        + " for (a): the gateway published no window (see its log in "
                        + o.workdir().resolve("logs-skew") + ")");
            }
            LoadHistory.Totals t = byLayer.values().iterator().next();
            double[] loads = new double[t.numExperts()];
            for (int e = 0; e < loads.length; e++) {
                loads[e] = t.expertTokens()[e] / t.seconds();
            }
            return loads;
        }
    }
}
