package io.moestreams.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.management.OperatingSystemMXBean;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.expert.ExpertConfig;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.metrics.MoeMeter;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code moe bench --pipeline}: the whole platform on the embedded broker and registry, with the gateway and the
 * expert workers in this JVM or (with {@code processes}) as separate OS processes. Per model shape it measures:
 * closed-loop latency of single requests, saturation throughput of a burst, open-loop latency at half of that
 * throughput, the in-process batched layer's throughput on the same tokens, broker bytes per token and CPU time per
 * hop. Every figure of one shape comes from one run, so ratios are meaningful on a noisy machine.
 */
final class PipelineBench {

    /** What to run. */
    record Options(
            List<int[]> shapes,
            int experts,
            int topK,
            int requestTokens,
            int closedLoopRequests,
            int burstTokens,
            double openLoopSeconds,
            double openLoopLoad,
            int maxBatchTokens,
            boolean processes,
            boolean kafkaFloor,
            Path workdir,
            Map<String, String> serviceSettings) {}

    /** Untimed round trips of each Kafka floor chain before the timed ones. */
    private static final int FLOOR_WARM_UP = 300;

    private final Options options;
    private final PrintStream out;
    private final Map<String, Object> report = new LinkedHashMap<>();

    PipelineBench(Options options, PrintStream out) {
        this.options = options;
        this.out = out;
    }

    Map<String, Object> run() throws Exception {
        report.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors()));
        report.put("mode", options.processes() ? "separate processes" : "one JVM");
        List<Map<String, Object>> shapes = new ArrayList<>();
        report.put("shapes", shapes);
        try (EmbeddedStack stack = EmbeddedStack.start()) {
            out.printf(
                    "embedded Kafka %s, schema registry %s; services %s%n",
                    stack.bootstrapServers(),
                    stack.schemaRegistryUrl(),
                    options.processes() ? "as separate processes" : "in this JVM");
            int run = 0;
            for (int[] shape : options.shapes()) {
                shapes.add(runShape(stack, shape[0], shape[1], "bench" + (run++) + "."));
            }
        }
        return report;
    }

    private Map<String, Object> runShape(EmbeddedStack stack, int d, int f, String prefix) throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("hidden", d);
        r.put("ffn", f);
        r.put("experts", options.experts());
        r.put("topK", options.topK());
        r.put("requestTokens", options.requestTokens());
        out.printf(
                "%n== d=%d f=%d E=%d top-%d, %d-token requests ==%n",
                d, f, options.experts(), options.topK(), options.requestTokens());
        Path modelDir = options.workdir().resolve("model-d" + d + "-f" + f);
        if (!Files.exists(modelDir.resolve("moe.json"))) {
            ModelGenerator.generateMixtral(modelDir, d, f, options.experts(), 7);
        }
        SplittableRandom random = new SplittableRandom(d * 31L + f);
        long floorP50 = options.kafkaFloor() ? kafkaFloor(stack, d, prefix, r) : -1;
        try (Services services = startServices(stack, modelDir, prefix);
                LoadClient client = new LoadClient(
                        stack.bootstrapServers(), stack.schemaRegistryUrl(), new Topics(prefix), Map.of())) {
            // warm-up: JIT, fetch sessions, first transactions of every hop
            burst(client, "warm", 100, d, random, null);

            long[] closed = closedLoop(client, services, d, random);
            r.put("closedLoopMs", percentiles(closed));
            out.printf("closed loop (%d requests, one at a time): %s%n", closed.length, describe(closed));
            if (floorP50 > 0) {
                long p50 = pct(sorted(closed), 0.50);
                r.put("closedLoopP50OverKafkaFloor", round((double) p50 / floorP50));
                out.printf("  closed-loop p50 / Kafka floor p50 = %.1f%n", (double) p50 / floorP50);
            }

            int burstRequests = Math.max(50, options.burstTokens() / options.requestTokens());
            Map<String, Long> bytesBefore = brokerBytes(stack.bootstrapServers(), prefix);
            Map<String, Duration> cpuBefore = services.cpu();
            long cpuSelfBefore = selfCpuNanos();
            List<BatchedLayer.Tokens> burstInputs = new ArrayList<>();
            double secs = burst(client, "burst", burstRequests, d, random, burstInputs);
            Map<String, Long> bytesAfter = brokerBytes(stack.bootstrapServers(), prefix);
            Map<String, Duration> cpuAfter = services.cpu();
            long cpuSelfAfter = selfCpuNanos();
            long tokens = (long) burstRequests * options.requestTokens();
            double pipelineTps = tokens / secs;
            r.put("pipelineTokensPerSec", round(pipelineTps));
            Map<String, Object> bytes = new LinkedHashMap<>();
            long totalBytes = 0;
            for (Map.Entry<String, Long> e : bytesAfter.entrySet()) {
                long delta = e.getValue() - bytesBefore.getOrDefault(e.getKey(), 0L);
                totalBytes += delta;
                bytes.put(e.getKey(), round((double) delta / tokens));
            }
            r.put("brokerBytesPerToken", round((double) totalBytes / tokens));
            r.put("brokerBytesPerTokenByTopic", bytes);
            Map<String, Object> cpu = new LinkedHashMap<>();
            for (Map.Entry<String, Duration> e : cpuAfter.entrySet()) {
                Duration before = cpuBefore.getOrDefault(e.getKey(), Duration.ZERO);
                cpu.put(e.getKey(), round((e.getValue().toNanos() - before.toNanos()) / 1e3 / tokens));
            }
            cpu.put(
                    options.processes() ? "broker + load client (bench JVM)" : "everything (one JVM)",
                    round((cpuSelfAfter - cpuSelfBefore) / 1e3 / tokens));
            r.put("cpuMicrosPerToken", cpu);
            out.printf(
                    "saturation: %d requests (%d tokens) in %.2f s = %.0f tokens/s%n",
                    burstRequests, tokens, secs, pipelineTps);
            out.printf("broker bytes per token: %.0f %s%n", (double) totalBytes / tokens, bytes);
            out.printf("CPU µs per token: %s%n", cpu);

            double rate = options.openLoopLoad() * pipelineTps / options.requestTokens();
            long[] open = openLoop(client, d, random, rate);
            r.put("openLoadRequestsPerSec", round(rate));
            r.put("openLoopMs", percentiles(open));
            out.printf(
                    "open loop at %.0f%% of saturation (%.1f requests/s for %.0f s): %s%n",
                    options.openLoopLoad() * 100, rate, options.openLoopSeconds(), describe(open));

            double layerTps = batchedLayer(modelDir, burstInputs);
            r.put("inProcessBatchedTokensPerSec", round(layerTps));
            r.put("pipelineOverInProcess", round(pipelineTps / layerTps));
            out.printf(
                    "in-process batched layer (batches of %d rows) on the same tokens: %.0f tokens/s;"
                            + " pipeline / in-process = %.2f%n",
                    options.maxBatchTokens(), layerTps, pipelineTps / layerTps);
            // The CPU-bound ceiling: with every core busy at the CPU the burst spent per token, the pipeline could
            // not go faster than cores / (CPU per token); a measured ratio near it means CPU, not waiting, bounds it.
            double cpuPerToken =
                    cpu.values().stream().mapToDouble(v -> (Double) v).sum();
            int cores = Runtime.getRuntime().availableProcessors();
            double ceiling = cores * 1e6 / cpuPerToken / layerTps;
            r.put("cpuMicrosPerTokenAllProcesses", round(cpuPerToken));
            r.put("cpuBoundCeilingOfRatio", round(ceiling));
            out.printf(
                    "  CPU-bound ceiling: %d cores / %.0f µs of CPU per token (all processes) = %.0f tokens/s,"
                            + " %.2f of the in-process layer; measured %.2f%n",
                    cores, cpuPerToken, cores * 1e6 / cpuPerToken, ceiling, pipelineTps / layerTps);
        }
        return r;
    }

    /**
     * Measures {@link KafkaFloor} before the services start, so it has the machine to itself; returns its p50 (the
     * chain shaped as the pipeline) in nanoseconds.
     */
    private long kafkaFloor(EmbeddedStack stack, int d, String prefix, Map<String, Object> r) throws Exception {
        int payload = options.requestTokens() * d * Float.BYTES;
        KafkaFloor.Result floor = new KafkaFloor(
                        stack.bootstrapServers(),
                        "floor-" + prefix,
                        Map.of(),
                        options.processes() ? options.workdir().resolve("logs") : null)
                .measure(payload, FLOOR_WARM_UP, options.closedLoopRequests(), System.err);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hops", options.processes() ? "each hop a process of its own" : "threads of the bench JVM");
        m.put("asPipeline", percentiles(floor.asPipelineNanos()));
        m.put("oneExactlyOnceHop", percentiles(floor.oneHopNanos()));
        boolean commitsSeen = floor.commitNanos().length > 0;
        if (commitsSeen) {
            m.put("transactionCommit", percentiles(floor.commitNanos()));
        }
        r.put("kafkaFloorMs", m);
        out.printf(
                "Kafka floor (bare Kafka clients on the same broker, no model, %s; %d requests of %d bytes one at a"
                        + " time):%n"
                        + "  shaped as the pipeline (two exactly-once hops in series): %s%n"
                        + "  one exactly-once hop: %s%n"
                        + "  one transaction commit (offsets + end): %s%n",
                m.get("hops"),
                options.closedLoopRequests(),
                payload,
                describe(floor.asPipelineNanos()),
                describe(floor.oneHopNanos()),
                commitsSeen ? describe(floor.commitNanos()) : "not seen from here (the hops run in other processes)");
        return pct(sorted(floor.asPipelineNanos()), 0.50);
    }

    private long[] closedLoop(LoadClient client, Services services, int d, SplittableRandom random) throws Exception {
        int n = options.closedLoopRequests();
        long[] latencies = new long[n];
        long[] server = new long[n];
        Map<String, double[]> hopsBefore = services.hops();
        ProgressBar bar = new ProgressBar(System.err, "closed loop", n);
        for (int i = 0; i < n; i++) {
            float[] tokens = randomTokens(random, options.requestTokens(), d);
            long t0 = System.nanoTime();
            LoadClient.Arrival a = client.send("closed-" + i + "-" + t0, tokens, options.requestTokens(), d)
                    .get(60, TimeUnit.SECONDS);
            latencies[i] = a.atNanos() - t0;
            server[i] = (a.response().getCompletedAtMs() - a.response().getReceivedAtMs()) * 1_000_000L;
            requireOk(a);
            bar.update(i + 1);
        }
        out.printf("  of which request append -> response emitted by the combiner: %s%n", describe(server));
        Map<String, double[]> hopsAfter = services.hops();
        if (!hopsAfter.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            hopsAfter.forEach((hop, v) -> {
                double[] b = hopsBefore.getOrDefault(hop, new double[2]);
                double count = v[0] - b[0];
                sb.append(String.format(" %s %.1f ms", hop, count == 0 ? 0 : (v[1] - b[1]) / count));
            });
            out.printf("  mean wait before each hop:%s%n", sb);
        }
        return latencies;
    }

    /** Sends {@code n} requests at once and returns the seconds until the last response arrived. */
    private double burst(
            LoadClient client, String label, int n, int d, SplittableRandom random, List<BatchedLayer.Tokens> inputs)
            throws Exception {
        List<float[]> payloads = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            payloads.add(randomTokens(random, options.requestTokens(), d));
        }
        ProgressBar bar = new ProgressBar(System.err, label, n);
        List<CompletableFuture<LoadClient.Arrival>> futures = new ArrayList<>(n);
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            String id = label + "-" + i + "-" + t0;
            futures.add(client.send(id, payloads.get(i), options.requestTokens(), d));
            if (inputs != null) {
                inputs.add(new BatchedLayer.Tokens(id, payloads.get(i), options.requestTokens()));
            }
        }
        client.flush();
        long last = t0;
        for (int i = 0; i < n; i++) {
            LoadClient.Arrival a = futures.get(i).get(5, TimeUnit.MINUTES);
            requireOk(a);
            last = Math.max(last, a.atNanos());
            bar.update(i + 1);
        }
        return (last - t0) / 1e9;
    }

    /** Sends at a fixed rate (not waiting for answers); latency counts from each request's scheduled send time. */
    private long[] openLoop(LoadClient client, int d, SplittableRandom random, double requestsPerSec) throws Exception {
        int n = Math.max(1, (int) (requestsPerSec * options.openLoopSeconds()));
        long interval = (long) (1e9 / requestsPerSec);
        List<float[]> payloads = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            payloads.add(randomTokens(random, options.requestTokens(), d));
        }
        long[] scheduled = new long[n];
        List<CompletableFuture<LoadClient.Arrival>> futures = new ArrayList<>(n);
        ProgressBar bar = new ProgressBar(System.err, "open loop", n);
        long t0 = System.nanoTime() + 10_000_000L;
        for (int i = 0; i < n; i++) {
            scheduled[i] = t0 + i * interval;
            long wait = scheduled[i] - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            futures.add(client.send("open-" + i + "-" + t0, payloads.get(i), options.requestTokens(), d));
            bar.update(i + 1);
        }
        long[] latencies = new long[n];
        for (int i = 0; i < n; i++) {
            LoadClient.Arrival a = futures.get(i).get(5, TimeUnit.MINUTES);
            requireOk(a);
            latencies[i] = a.atNanos() - scheduled[i];
        }
        return latencies;
    }

    private double batchedLayer(Path modelDir, List<BatchedLayer.Tokens> inputs) {
        try (MoeModel model = MoeModel.load(modelDir, ExpertSelection.all())) {
            BatchedLayer.run(model, inputs.subList(0, Math.min(inputs.size(), 50)), options.maxBatchTokens());
            double best = 0;
            for (int round = 0; round < 3; round++) {
                long t0 = System.nanoTime();
                BatchedLayer.run(model, inputs, options.maxBatchTokens());
                double secs = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, inputs.size() * (double) options.requestTokens() / secs);
            }
            return best;
        }
    }

    private static void requireOk(LoadClient.Arrival a) {
        if (!"OK".equals(a.response().getStatus().name())) {
            throw new IllegalStateException("request " + a.response().getRequestId() + " answered "
                    + a.response().getStatus() + ": " + a.response().getError());
        }
    }

    private static float[] randomTokens(SplittableRandom random, int seqLen, int d) {
        float[] v = new float[seqLen * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    /** The services under test: in this JVM or as child processes. */
    private interface Services extends AutoCloseable {
        Map<String, Duration> cpu();

        /** Per-hop queueing timers (count, total ms) when the services run in this JVM. */
        default Map<String, double[]> hops() {
            return Map.of();
        }

        @Override
        void close();
    }

    private Services startServices(EmbeddedStack stack, Path modelDir, String prefix) throws IOException {
        List<String> groups = expertGroups(options.experts());
        Map<String, String> expertSettings = new LinkedHashMap<>(options.serviceSettings());
        expertSettings.put(ExpertConfig.MAX_BATCH_TOKENS, Integer.toString(options.maxBatchTokens()));
        if (!options.processes()) {
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            LocalPipeline pipeline = LocalPipeline.start(
                    modelDir,
                    stack.bootstrapServers(),
                    stack.schemaRegistryUrl(),
                    prefix,
                    groups,
                    options.serviceSettings(),
                    expertSettings,
                    meters);
            return new Services() {
                @Override
                public Map<String, Duration> cpu() {
                    return Map.of();
                }

                @Override
                public Map<String, double[]> hops() {
                    Map<String, double[]> m = new LinkedHashMap<>();
                    for (MoeMeter meter : List.of(
                            MoeMeter.GATEWAY_INPUT_LAG, MoeMeter.EXPERT_INPUT_LAG, MoeMeter.COMBINER_INPUT_LAG)) {
                        for (Timer t : meters.find(meter.meterName()).timers()) {
                            String name = meter.meterName().replace("moe.", "").replace(".input.lag", "");
                            if (t.getId().getTag("input") != null) {
                                name += " " + t.getId().getTag("input");
                            }
                            double[] v = m.computeIfAbsent(name, k -> new double[2]);
                            v[0] += t.count();
                            v[1] += t.totalTime(TimeUnit.MILLISECONDS);
                        }
                    }
                    return m;
                }

                @Override
                public void close() {
                    pipeline.close();
                }
            };
        }
        Path logs = options.workdir().resolve("logs");
        Path state = Files.createTempDirectory("moe-bench-gateway-");
        String suffix = prefix.replaceAll("[^A-Za-z0-9]", "");
        Map<String, String> env = new LinkedHashMap<>();
        env.put("MOE_BOOTSTRAP_SERVERS", stack.bootstrapServers());
        env.put("MOE_SCHEMA_REGISTRY_URL", stack.schemaRegistryUrl());
        env.put("MOE_TOPIC_PREFIX", prefix);
        env.put("MOE_MODEL_DIR", modelDir.toString());
        options.serviceSettings().forEach((k, v) -> env.put(envName(k), v));
        Map<String, String> gatewayEnv = new LinkedHashMap<>(env);
        gatewayEnv.put("MOE_GATEWAY_APPLICATION_ID", "moe-gateway-" + suffix);
        gatewayEnv.put("MOE_GATEWAY_STATE_DIR", state.toString());
        gatewayEnv.put("MOE_EXPERT_GROUP_PREFIX", "moe-expert-" + suffix + "-");
        List<String> jvm = List.of("-Xmx1g", "-XX:+UseParallelGC");
        List<ChildProcess> children = new ArrayList<>();
        children.add(ChildProcess.start("gateway", jvm, List.of("gateway"), gatewayEnv, logs));
        int i = 0;
        for (String group : groups) {
            Map<String, String> e = new LinkedHashMap<>(env);
            expertSettings.forEach((k, v) -> e.put(envName(k), v));
            e.put("MOE_EXPERT_GROUP_PREFIX", "moe-expert-" + suffix + "-");
            e.put("MOE_EXPERT_EXPERTS", group);
            e.put("MOE_EXPERT_WORKER_ID", "bench-" + i);
            children.add(ChildProcess.start("expert-" + (i++), jvm, List.of("expert"), e, logs));
        }
        out.printf("started %s (logs in %s)%n", children, logs);
        return new Services() {
            @Override
            public Map<String, Duration> cpu() {
                Map<String, Duration> m = new LinkedHashMap<>();
                for (ChildProcess c : children) {
                    m.put(c.name(), c.cpuTime());
                }
                return m;
            }

            @Override
            public void close() {
                children.forEach(ChildProcess::close);
            }
        };
    }

    private static String envName(String key) {
        return key.toUpperCase().replace('.', '_').replace('-', '_');
    }

    /** Two expert processes splitting the routed experts; the second also serves every shared expert. */
    static List<String> expertGroups(int experts) {
        int half = (experts + 1) / 2;
        if (half == experts) {
            return List.of("0-" + (experts - 1) + ",shared");
        }
        return List.of("0-" + (half - 1), half + "-" + (experts - 1) + ",shared");
    }

    /** Bytes on the broker's disks per topic group ({@code requests}, {@code expert.*}, ..., {@code internal}). */
    private static Map<String, Long> brokerBytes(String bootstrap, String prefix) throws Exception {
        Map<String, Long> sizes = new LinkedHashMap<>();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            List<Integer> brokers = admin.describeCluster().nodes().get().stream()
                    .map(n -> n.id())
                    .toList();
            Map<Integer, Map<String, LogDirDescription>> dirs =
                    admin.describeLogDirs(brokers).allDescriptions().get();
            for (Map<String, LogDirDescription> byDir : dirs.values()) {
                for (LogDirDescription desc : byDir.values()) {
                    for (Map.Entry<TopicPartition, ReplicaInfo> e :
                            desc.replicaInfos().entrySet()) {
                        sizes.merge(
                                group(e.getKey().topic(), prefix), e.getValue().size(), Long::sum);
                    }
                }
            }
        }
        return sizes;
    }

    private static String group(String topic, String prefix) {
        if (!topic.startsWith(prefix)) {
            return topic.startsWith("__") ? "internal" : "streams state";
        }
        String rest = topic.substring(prefix.length());
        return rest.startsWith("expert.") ? "expert.*" : rest;
    }

    private static long selfCpuNanos() {
        return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static Map<String, Object> percentiles(long[] nanos) {
        long[] s = sorted(nanos);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p50", round(pct(s, 0.50) / 1e6));
        m.put("p90", round(pct(s, 0.90) / 1e6));
        m.put("p99", round(pct(s, 0.99) / 1e6));
        m.put("max", round(s[s.length - 1] / 1e6));
        m.put("n", s.length);
        return m;
    }

    private static String describe(long[] nanos) {
        Map<String, Object> p = percentiles(nanos);
        return String.format(
                "p50 %s ms, p90 %s ms, p99 %s ms, max %s ms", p.get("p50"), p.get("p90"), p.get("p99"), p.get("max"));
    }

    private static long[] sorted(long[] values) {
        long[] s = values.clone();
        Arrays.sort(s);
        return s;
    }

    private static long pct(long[] sorted, double p) {
        int idx = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static void writeJson(Map<String, Object> report, Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), report);
    }
}
