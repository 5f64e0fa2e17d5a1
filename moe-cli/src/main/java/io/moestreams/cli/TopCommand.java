package io.moestreams.cli;

import io.moestreams.schemas.ExpertIds;
import io.moestreams.schemas.Topics;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code moe top}: a live view of a running deployment, refreshed in place: per expert the tokens routed to it
 * (expert load record), its consumer lag (Kafka Admin), what its workers compute, their micro-batch size and FFN time
 * (the services' metrics endpoints, when given); the last window's balance (CV², Switch aux loss), drops and
 * throttling.
 */
@Command(
        name = "top",
        mixinStandardHelpOptions = true,
        description = {
            "Live view of a running deployment, refreshed in place: per expert tokens/s, consumer lag, batch size,"
                    + " compute time; balance CV², Switch aux loss, drop rate and throttling of the last load window.",
            "Reads the expert-load topic and the consumer groups through Kafka; --metrics adds the services'"
                    + " Prometheus endpoints (batch size, compute time, computed tokens/s, in-flight)."
        })
final class TopCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

    @Option(names = "--bootstrap-servers", paramLabel = "B", description = "Kafka bootstrap servers.")
    String bootstrapServers;

    @Option(
            names = "--schema-registry",
            required = true,
            paramLabel = "URL",
            description = "Confluent-API schema registry URL.")
    String schemaRegistry;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Kafka client properties (e.g. the moe-admin.properties of `moe up --secure`) and the"
                    + " registry's basic.auth.* / bearer.auth.*; its bootstrap.servers stands in for"
                    + " --bootstrap-servers.")
    Path configFile;

    @Option(
            names = "--topic-prefix",
            defaultValue = Topics.DEFAULT_PREFIX,
            description = "Topic prefix (default ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(
            names = "--group-prefix",
            defaultValue = "moe-expert-",
            description = "The experts' consumer group prefix (default ${DEFAULT-VALUE}).")
    String groupPrefix;

    @Option(
            names = "--metrics",
            split = ",",
            paramLabel = "URL",
            description = "Metrics endpoints of the services, e.g. http://127.0.0.1:9400/metrics (repeatable).")
    List<String> metrics = new ArrayList<>();

    @Option(
            names = "--interval",
            defaultValue = "2",
            description = "Seconds between refreshes (default ${DEFAULT-VALUE}).")
    double interval;

    @Option(names = "--frames", defaultValue = "0", description = "Stop after N frames (default: until Ctrl-C).")
    int frames;

    @Option(names = "--once", description = "Print one frame (after one interval, for rates) without clearing.")
    boolean once;

    /** What one frame shows, gathered from Kafka and the endpoints. */
    record Frame(
            long atMs,
            String source,
            LoadHistory.Totals window,
            Map<Integer, ExpertLag.Lag> lag,
            Map<String, Double> computedPerSec,
            Map<String, Double> batchTokens,
            Map<String, Double> computeMs,
            Map<String, Double> inFlight,
            double throttledGateways,
            int gateways) {}

    @Override
    public Integer call() throws Exception {
        Map<String, String> kafka = ClientProperties.load(configFile);
        if (bootstrapServers == null) {
            bootstrapServers = kafka.get("bootstrap.servers");
        }
        if (bootstrapServers == null) {
            throw new ParameterException(
                    spec.commandLine(), "give --bootstrap-servers (or bootstrap.servers in --config)");
        }
        Map<String, Object> adminProps = new HashMap<>(kafka);
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        Topics topics = new Topics(topicPrefix);
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        PrintStream out = System.out;
        long windowLookBack = Duration.ofMinutes(5).toMillis();
        try (Admin admin = Admin.create(adminProps);
                LoadHistory history = new LoadHistory(
                        bootstrapServers, schemaRegistry, topics, kafka, System.currentTimeMillis() - windowLookBack)) {
            history.catchUp(Duration.ofSeconds(20));
            PrometheusScrape previous = scrape(http);
            long previousAt = System.nanoTime();
            int shown = 0;
            while (frames <= 0 || shown < frames) {
                history.poll(Duration.ofMillis((long) (interval * 1000)));
                PrometheusScrape now = scrape(http);
                long nowAt = System.nanoTime();
                Map<String, LoadHistory.Totals> last = LoadHistory.lastClosedWindow(history.records());
                LoadHistory.Totals w =
                        last.isEmpty() ? null : last.values().iterator().next();
                Map<Integer, ExpertLag.Lag> lag = w == null
                        ? Map.of()
                        : ExpertLag.snapshot(admin, topics, groupPrefix, w.numExperts(), w.numShared());
                double secs = Math.max(1e-3, (nowAt - previousAt) / 1e9);
                Frame f = new Frame(
                        System.currentTimeMillis(),
                        bootstrapServers + ", prefix " + topicPrefix,
                        w,
                        lag,
                        rate(previous, now, "moe_expert_tokens_total", secs),
                        ratio(previous, now, "moe_expert_batch_tokens_sum", "moe_expert_batch_tokens_count", 1),
                        ratio(
                                previous,
                                now,
                                "moe_expert_batch_compute_seconds_sum",
                                "moe_expert_batch_compute_seconds_count",
                                1000),
                        now.sumBy("moe_gateway_inflight_tokens", "expert"),
                        now.sumBy("moe_gateway_throttled", null).getOrDefault("", Double.NaN),
                        now.sumBy("moe_gateway_throttled", null).isEmpty()
                                ? 0
                                : (int) now.samples().stream()
                                        .filter(s -> s.name().equals("moe_gateway_throttled"))
                                        .count());
                if (!once) {
                    out.print("\033[H\033[2J"); // cursor home, clear: the frame replaces the last one
                }
                out.print(render(f));
                out.flush();
                previous = now;
                previousAt = nowAt;
                shown++;
                if (once) {
                    break;
                }
            }
        }
        return 0;
    }

    private PrometheusScrape scrape(HttpClient http) {
        List<PrometheusScrape> all = new ArrayList<>();
        for (String url : metrics) {
            all.add(PrometheusScrape.fetch(http, url));
        }
        return PrometheusScrape.merge(all);
    }

    private static Map<String, Double> rate(PrometheusScrape a, PrometheusScrape b, String name, double secs) {
        Map<String, Double> before = a.sumBy(name, "expert");
        Map<String, Double> out = new HashMap<>();
        b.sumBy(name, "expert").forEach((k, v) -> out.put(k, Math.max(0, v - before.getOrDefault(k, 0.0)) / secs));
        return out;
    }

    /** Per expert, Δsum / Δcount × scale between two scrapes (NaN when nothing happened). */
    private static Map<String, Double> ratio(
            PrometheusScrape a, PrometheusScrape b, String sum, String count, double scale) {
        Map<String, Double> s0 = a.sumBy(sum, "expert");
        Map<String, Double> c0 = a.sumBy(count, "expert");
        Map<String, Double> c1 = b.sumBy(count, "expert");
        Map<String, Double> out = new HashMap<>();
        b.sumBy(sum, "expert").forEach((k, v) -> {
            double dc = c1.getOrDefault(k, 0.0) - c0.getOrDefault(k, 0.0);
            out.put(k, dc > 0 ? (v - s0.getOrDefault(k, 0.0)) / dc * scale : Double.NaN);
        });
        return out;
    }

    /** One frame as text (pure: tested with a fixed frame). */
    static String render(Frame f) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT, "moe top — %s — %s UTC%n", f.source(), TIME.format(Instant.ofEpochMilli(f.atMs()))));
        LoadHistory.Totals w = f.window();
        if (w == null) {
            sb.append("no closed load window yet (the gateway publishes one every moe.load.window-ms)\n");
            return sb.toString();
        }
        sb.append(String.format(
                Locale.ROOT,
                "layer %s, window %s–%s from %d gateway(s): %d requests, %d tokens (%.0f/s); balance CV² %.3f,"
                        + " aux loss %.3f; drops %.2f%%; intake throttled %.0f%% of the window%s%n",
                w.layer(),
                TIME.format(Instant.ofEpochMilli(w.fromMs())),
                TIME.format(Instant.ofEpochMilli(w.toMs())),
                w.instances(),
                w.sequences(),
                w.tokens(),
                w.tokens() / w.seconds(),
                w.loadCv2(),
                w.auxLoss(),
                100 * w.dropRate(),
                100.0 * w.throttledMs() / Math.max(1, w.instances()) / (w.seconds() * 1000),
                Double.isNaN(f.throttledGateways())
                        ? ""
                        : String.format(
                                Locale.ROOT, "; throttling now: %.0f of %d", f.throttledGateways(), f.gateways())));
        sb.append(String.format(
                Locale.ROOT,
                "%-6s %10s %6s %10s %10s %5s %11s %10s %10s %10s%n",
                "expert",
                "routed/s",
                "share",
                "lag(rec)",
                "lag(tok)",
                "cons",
                "computed/s",
                "batch",
                "ms/batch",
                "in-flight"));
        long routed = 0;
        for (int x = 0; x < w.numExperts(); x++) {
            routed += w.expertTokens()[x];
        }
        for (int x = 0; x < w.numExperts() + w.numShared(); x++) {
            String name = ExpertIds.name(x, w.numExperts());
            ExpertLag.Lag lag = f.lag().get(x);
            double perBlock =
                    w.expertBlocks()[x] == 0 ? Double.NaN : (double) w.expertTokens()[x] / w.expertBlocks()[x];
            sb.append(String.format(
                    Locale.ROOT,
                    "%-6s %10.0f %5.1f%% %10s %10s %5s %11s %10s %10s %10s%n",
                    name,
                    w.expertTokens()[x] / w.seconds(),
                    x < w.numExperts() && routed > 0 ? 100.0 * w.expertTokens()[x] / routed : 0.0,
                    lag == null ? "-" : Long.toString(lag.records()),
                    lag == null || Double.isNaN(perBlock)
                            ? "-"
                            : String.format(Locale.ROOT, "%.0f", lag.records() * perBlock),
                    lag == null ? "-" : lag.members() + "/" + lag.partitions(),
                    num(f.computedPerSec().get(name), "%.0f"),
                    num(f.batchTokens().get(name), "%.1f"),
                    num(f.computeMs().get(name), "%.2f"),
                    num(f.inFlight().get(name), "%.0f")));
        }
        sb.append("lag(rec): offsets not committed by the expert's group; lag(tok): × the window's tokens per block;"
                + " cons: consumers/partitions\n");
        return sb.toString();
    }

    private static String num(Double v, String format) {
        return v == null || v.isNaN() ? "-" : String.format(Locale.ROOT, format, v);
    }
}
