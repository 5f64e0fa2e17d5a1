package io.moestreams.cli;

import io.moestreams.avro.ResponseStatus;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.schemas.Topics;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One layout of {@code moe bench --skew}: its own topics (prefix), a gateway and the expert processes of the layout
 * on the embedded broker, then a warm-up, a saturation burst and a fixed-rate phase while {@link LagSampler} records
 * each expert's consumer lag. Every layout gets the same sequence of requests. Expert processes compute on one thread
 * each ({@code -Dmoe.nd4j.threads=1}, BLAS single-threaded) and, with pinning, run on one CPU each ({@link
 * CpuPinning}, heaviest first onto the least loaded CPU): a worker is a fixed share of the machine, so the layout,
 * not the operating system's scheduler, decides what shares a CPU. The gateway, broker and client are not pinned.
 */
final class SkewPhase {

    /**
     * Expert processes: a spec ({@code 0-3}), how many identical replicas, and the load each replica is expected to
     * carry (any unit; 0 when unknown), which places the replicas on CPUs.
     */
    record Worker(String experts, int replicas, double loadPerReplica) {
        @Override
        public String toString() {
            return experts + (replicas > 1 ? " x" + replicas : "");
        }
    }

    /** A deployment: its topic prefix, expert processes and per-expert partition overrides. */
    record Layout(String name, String prefix, List<Worker> workers, Map<Integer, Integer> expertPartitions) {}

    /**
     * What one layout measured.
     *
     * @param offeredTokensPerSec the fixed-rate phase's offered rate
     * @param openLoopTokensPerSec tokens of the fixed-rate phase / time from its first send to its last answer
     * @param drainSeconds         last send → last answer of the fixed-rate phase
     * @param notOk                answers other than OK in the fixed-rate phase
     * @param lag                  samples {seconds, lag of expert 0, ...}
     */
    record Result(
            Layout layout,
            double burstTokensPerSec,
            double offeredTokensPerSec,
            double openLoopTokensPerSec,
            double drainSeconds,
            long notOk,
            long maxHotLag,
            long maxOtherLag,
            List<double[]> lag) {}

    /** Distinct requests the load is drawn from. */
    private static final int POOL = 256;

    private final List<float[]> pool = new ArrayList<>();
    private final SkewBench.Options o;
    private final EmbeddedStack stack;
    private final List<Integer> cpus;
    private final Path model;
    private final PrintStream progress;

    /**
     * @param cpus the CPUs to pin expert processes to, or empty for no pinning
     */
    SkewPhase(SkewBench.Options options, EmbeddedStack stack, Path model, List<Integer> cpus, PrintStream progress) {
        this.o = options;
        this.cpus = List.copyOf(cpus);
        this.stack = stack;
        this.model = model;
        this.progress = progress;
        SplittableRandom random = new SplittableRandom(42);
        for (int r = 0; r < POOL; r++) {
            float[] v = new float[o.requestTokens() * o.hidden()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) random.nextGaussian();
            }
            pool.add(v);
        }
    }

    /**
     * Runs the layout.
     *
     * @param offeredTokensPerSec rate of the fixed-rate phase, or 0 for {@code rateFactor} x this layout's burst rate
     */
    Result run(Layout layout, double offeredTokensPerSec) throws Exception {
        String suffix = layout.prefix().replaceAll("[^A-Za-z0-9]", "");
        String groupPrefix = "skew-" + suffix + "-";
        Path logs = o.workdir().resolve("logs-skew");
        Map<String, String> env = new LinkedHashMap<>();
        env.put("MOE_BOOTSTRAP_SERVERS", stack.bootstrapServers());
        env.put("MOE_SCHEMA_REGISTRY_URL", stack.schemaRegistryUrl());
        env.put("MOE_TOPIC_PREFIX", layout.prefix());
        env.put("MOE_MODEL_DIR", model.toString());
        env.put("MOE_EXPERT_GROUP_PREFIX", groupPrefix);
        env.put("MOE_TOPICS_PARTITIONS", Integer.toString(o.partitions()));
        StringBuilder ep = new StringBuilder();
        layout.expertPartitions()
                .forEach((e, p) -> ep.append(ep.length() == 0 ? "" : ",")
                        .append(e)
                        .append(':')
                        .append(p));
        env.put("MOE_TOPICS_EXPERT_PARTITIONS", ep.toString());
        env.put("OMP_NUM_THREADS", "1");
        env.put("OPENBLAS_NUM_THREADS", "1");
        Map<String, String> gw = new LinkedHashMap<>(env);
        gw.put("MOE_GATEWAY_APPLICATION_ID", "skew-gateway-" + suffix);
        gw.put(
                "MOE_GATEWAY_STATE_DIR",
                Files.createTempDirectory("moe-skew-gateway-").toString());
        gw.put("MOE_GATEWAY_DEFAULT_TIMEOUT_MS", "600000");
        gw.put("MOE_LOAD_WINDOW_MS", "2000");
        gw.put("MOE_LOAD_PUBLISH_MS", "500");
        List<String> gatewayJvm = List.of("-Xmx1g", "-XX:+UseParallelGC");
        List<String> expertJvm = List.of("-Xmx1g", "-XX:+UseParallelGC", "-Dmoe.nd4j.threads=1");
        List<Worker> replicas = new ArrayList<>();
        for (Worker w : layout.workers()) {
            for (int r = 0; r < w.replicas(); r++) {
                replicas.add(w);
            }
        }
        double[] loads = replicas.stream().mapToDouble(Worker::loadPerReplica).toArray();
        int[] cpu = cpus.isEmpty() ? null : CpuPinning.assign(loads, cpus);
        List<ChildProcess> children = new ArrayList<>();
        StringBuilder placed = new StringBuilder();
        try {
            children.add(ChildProcess.start("gateway-" + suffix, gatewayJvm, List.of("gateway"), gw, logs));
            for (int i = 0; i < replicas.size(); i++) {
                Map<String, String> e = new LinkedHashMap<>(env);
                e.put("MOE_EXPERT_EXPERTS", replicas.get(i).experts());
                e.put("MOE_EXPERT_WORKER_ID", "skew-" + suffix + "-" + i);
                List<String> launcher = cpu == null ? List.of() : CpuPinning.launcher(cpu[i]);
                children.add(ChildProcess.start(
                        "expert-" + suffix + "-" + i, launcher, expertJvm, List.of("expert"), e, logs));
                placed.append(placed.length() == 0 ? "" : ", ")
                        .append(replicas.get(i).experts())
                        .append(cpu == null ? "" : " on CPU " + cpu[i]);
            }
            progress.printf(
                    "started the gateway and %d expert processes (%s; logs in %s)%n", replicas.size(), placed, logs);
            Topics topics = new Topics(layout.prefix());
            try (LoadClient client =
                    new LoadClient(stack.bootstrapServers(), stack.schemaRegistryUrl(), topics, Map.of())) {
                SplittableRandom random = new SplittableRandom(1234);
                // every expert has joined its group and run its hot paths before anything is measured
                burst(client, "warm", 40, random);
                progress.printf("warm: every layout process answers%n");
                try (LagSampler sampler =
                        new LagSampler(stack.bootstrapServers(), topics, groupPrefix, o.experts(), 250)) {
                    double burst = burst(client, "burst", o.burstRequests(), random);
                    progress.printf(Locale.ROOT, "burst: %d requests, %.0f tokens/s%n", o.burstRequests(), burst);
                    double offered = offeredTokensPerSec > 0 ? offeredTokensPerSec : o.rateFactor() * burst;
                    double[] open = openLoop(client, offered, random);
                    progress.printf(
                            Locale.ROOT,
                            "fixed rate %.0f tokens/s for %.0f s: %.0f tokens/s delivered, drained %.1f s after the"
                                    + " last send%n",
                            offered,
                            o.openLoopSeconds(),
                            open[0],
                            open[1]);
                    // one more period so the drained state is in the series
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
                    sampler.stop();
                    if (sampler.failedSamples() > 0) {
                        progress.printf("lag sampler: %d sample(s) lost to slow answers%n", sampler.failedSamples());
                    }
                    List<double[]> lag = sampler.samples();
                    long hot = 0;
                    long others = 0;
                    for (double[] v : lag) {
                        hot = Math.max(hot, (long) v[1]);
                        for (int x = 2; x < v.length; x++) {
                            others = Math.max(others, (long) v[x]);
                        }
                    }
                    return new Result(layout, burst, offered, open[0], open[1], (long) open[2], hot, others, lag);
                }
            }
        } finally {
            children.forEach(ChildProcess::close);
        }
    }

    /** Sends {@code n} requests at once; tokens per second from the first send to the last answer. */
    private double burst(LoadClient client, String label, int n, SplittableRandom random) throws Exception {
        List<CompletableFuture<LoadClient.Arrival>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            futures.add(client.send(label + "-" + i + "-" + t0, tokens(random), o.requestTokens(), o.hidden()));
        }
        client.flush();
        long last = t0;
        for (CompletableFuture<LoadClient.Arrival> f : futures) {
            LoadClient.Arrival a = f.get(10, TimeUnit.MINUTES);
            if (a.response().getStatus() != ResponseStatus.OK) {
                throw new IllegalStateException("request answered "
                        + a.response().getStatus() + ": " + a.response().getError());
            }
            last = Math.max(last, a.atNanos());
        }
        return (double) n * o.requestTokens() / ((last - t0) / 1e9);
    }

    /**
     * Sends at {@code tokensPerSec} for the phase's seconds; returns {delivered tokens/s, seconds from the last send
     * to the last answer, answers other than OK}.
     */
    private double[] openLoop(LoadClient client, double tokensPerSec, SplittableRandom random) throws Exception {
        double requestsPerSec = tokensPerSec / o.requestTokens();
        int n = Math.max(1, (int) (requestsPerSec * o.openLoopSeconds()));
        long interval = (long) (1e9 / requestsPerSec);
        List<CompletableFuture<LoadClient.Arrival>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long wait = t0 + i * interval - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            futures.add(client.send("open-" + i + "-" + t0, tokens(random), o.requestTokens(), o.hidden()));
        }
        client.flush();
        long lastSend = System.nanoTime();
        long last = t0;
        long notOk = 0;
        for (CompletableFuture<LoadClient.Arrival> f : futures) {
            LoadClient.Arrival a = f.get(10, TimeUnit.MINUTES);
            notOk += a.response().getStatus() == ResponseStatus.OK ? 0 : 1;
            last = Math.max(last, a.atNanos());
        }
        return new double[] {
            (double) n * o.requestTokens() / ((last - t0) / 1e9), Math.max(0, last - lastSend) / 1e9, notOk
        };
    }

    /**
     * The next request's tokens: one of a pool of N(0,1) requests drawn once (the hot router is calibrated on N(0,1)
     * tokens), so the client spends its core on sending, not on drawing numbers.
     */
    private float[] tokens(SplittableRandom random) {
        return pool.get(random.nextInt(POOL));
    }
}
