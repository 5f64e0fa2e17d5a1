package io.moestreams.cli;

import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.moestreams.core.placement.Eplb;
import io.moestreams.core.placement.PlacementPlanner;
import io.moestreams.schemas.Topics;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe plan}: expert groups, replicas and partitions for a worker budget, from the recorded load. */
@Command(
        name = "plan",
        mixinStandardHelpOptions = true,
        description = {
            "Plan expert placement from the expert load record: which experts share a worker, how many replicas each"
                    + " group gets and how many partitions each expert topic needs, so the most loaded worker carries"
                    + " as little as possible; compared with EPLB's greedy packing on the same load.",
            "Prints a table and the arguments of `moe k8s render` (and, with --compose-out, a docker-compose override)."
        })
final class PlanCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--bootstrap-servers", paramLabel = "B", description = "Kafka bootstrap servers.")
    String bootstrapServers;

    @Option(names = "--schema-registry", paramLabel = "URL", description = "Confluent-API schema registry URL.")
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
            names = "--window",
            defaultValue = "10m",
            paramLabel = "DURATION",
            description = "Recorded load to plan from: the windows of the last DURATION (30s, 10m, 2h; default"
                    + " ${DEFAULT-VALUE}).")
    String window;

    @Option(names = "--layer", paramLabel = "L", description = "The layer to plan (default: the only one recorded).")
    String layer;

    @Option(
            names = "--loads",
            paramLabel = "L0,L1,...",
            split = ",",
            description = "Plan from these loads per routed expert instead of the load record (any unit).")
    List<Double> loads;

    @Option(names = "--workers", required = true, paramLabel = "W", description = "Worker budget (replicas in all).")
    int workers;

    @Option(
            names = "--max-experts-per-worker",
            paramLabel = "M",
            description = "Most experts one worker may hold (its memory; default: twice an even split, ceil(2E/W)).")
    Integer maxExpertsPerWorker;

    @Option(
            names = "--partitions",
            defaultValue = "2",
            description = "Fewest partitions of an expert topic (default ${DEFAULT-VALUE}); a replicated group's topics"
                    + " get a multiple of its replicas.")
    int minPartitions;

    @Option(
            names = "--compose-out",
            paramLabel = "FILE",
            description = "Also write a docker-compose override: one expert service per group (scale = replicas),"
                    + " the partitions for topic-init and the gateway, and the stock expert services disabled.")
    Path composeOut;

    private Map<String, String> kafka = Map.of();

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        double[] l;
        String source;
        if (loads != null && !loads.isEmpty()) {
            l = loads.stream().mapToDouble(Double::doubleValue).toArray();
            source = "given loads";
        } else {
            kafka = ClientProperties.load(configFile);
            if (bootstrapServers == null) {
                bootstrapServers = kafka.get("bootstrap.servers");
            }
            if (bootstrapServers == null || schemaRegistry == null) {
                throw new CommandLine.ParameterException(
                        cl, "give --bootstrap-servers and --schema-registry (the load record), or --loads");
            }
            LoadHistory.Totals t = recorded(cl);
            l = new double[t.numExperts()];
            for (int e = 0; e < l.length; e++) {
                l[e] = t.expertTokens()[e] / t.seconds();
            }
            source = String.format(
                    Locale.ROOT,
                    "load record of layer %s: %d window(s) from %d gateway instance(s), %d tokens in %.0f s; CV² %.3f,"
                            + " aux loss %.3f, drop rate %.4f%s",
                    t.layer(),
                    t.windows(),
                    t.instances(),
                    t.tokens(),
                    t.seconds(),
                    t.loadCv2(),
                    t.auxLoss(),
                    t.dropRate(),
                    t.numShared() > 0
                            ? "; shared experts (every token, group 'shared' of k8s render): "
                                    + String.format(Locale.ROOT, "%.0f tokens/s each", t.tokens() / t.seconds())
                            : "");
        }
        int e = l.length;
        int m = maxExpertsPerWorker != null ? maxExpertsPerWorker : Math.max(1, (2 * e + workers - 1) / workers);
        if (workers < 1 || m < 1 || minPartitions < 1) {
            throw new CommandLine.ParameterException(
                    cl, "--workers, --max-experts-per-worker and --partitions must be >= 1");
        }
        PlacementPlanner.Plan plan = PlacementPlanner.plan(l, workers, m, minPartitions);
        Eplb eplb = Eplb.place(l, workers, m);
        print(System.out, source, l, plan, eplb, workers, m, minPartitions);
        if (composeOut != null) {
            Files.writeString(composeOut, composeOverride(plan, minPartitions), StandardCharsets.UTF_8);
            System.out.println("compose override: " + composeOut + " (docker-compose -f docker-compose.yml -f "
                    + composeOut + " up -d)");
        }
        return 0;
    }

    private LoadHistory.Totals recorded(CommandLine cl) {
        Duration d = parseDuration(window, cl);
        long now = System.currentTimeMillis();
        long from = now - d.toMillis();
        try (LoadHistory h = new LoadHistory(bootstrapServers, schemaRegistry, new Topics(topicPrefix), kafka, from)) {
            h.catchUp(Duration.ofSeconds(30));
            Map<String, LoadHistory.Totals> byLayer = LoadHistory.totals(h.records(), from, now);
            if (byLayer.isEmpty()) {
                throw new CommandLine.ParameterException(
                        cl,
                        "no load was recorded on " + new Topics(topicPrefix).expertLoad() + " in the last " + window);
            }
            if (layer == null && byLayer.size() > 1) {
                throw new CommandLine.ParameterException(
                        cl, "several layers were recorded " + byLayer.keySet() + ": choose one with --layer");
            }
            LoadHistory.Totals t = layer == null ? byLayer.values().iterator().next() : byLayer.get(layer);
            if (t == null) {
                throw new CommandLine.ParameterException(
                        cl, "--layer " + layer + ": not recorded; recorded are " + byLayer.keySet());
            }
            return t;
        }
    }

    static Duration parseDuration(String s, CommandLine cl) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        try {
            long n = Long.parseLong(v.substring(0, v.length() - 1));
            Duration d = switch (v.charAt(v.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                case 'd' -> Duration.ofDays(n);
                default -> null;
            };
            if (d != null && n > 0) {
                return d;
            }
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            // reported below
        }
        throw new CommandLine.ParameterException(cl, "--window: expected a duration like 30s, 10m or 2h, found " + s);
    }

    /** Group names: {@code hot-<e>} for a replicated single expert, else {@code g1, g2, ...}. */
    static List<String> names(PlacementPlanner.Plan plan) {
        List<String> names = new ArrayList<>();
        int n = 0;
        for (PlacementPlanner.Group g : plan.groups()) {
            names.add(
                    g.experts().size() == 1 && g.replicas() > 1
                            ? "hot-" + g.sortedExperts().get(0)
                            : "g" + (++n));
        }
        return names;
    }

    /** The arguments of {@code moe k8s render} for the plan. */
    static String k8sArgs(PlacementPlanner.Plan plan, int minPartitions) {
        List<String> names = names(plan);
        StringBuilder groups = new StringBuilder();
        StringBuilder replicas = new StringBuilder();
        for (int i = 0; i < plan.groups().size(); i++) {
            PlacementPlanner.Group g = plan.groups().get(i);
            groups.append(i == 0 ? "" : ";").append(names.get(i)).append('=').append(K8sManifests.ids(g.experts()));
            replicas.append(i == 0 ? "" : ",").append(names.get(i)).append('=').append(g.replicas());
        }
        return "--groups '" + groups + "' --partitions " + minPartitions + " --expert-partitions '"
                + expertPartitions(plan, minPartitions) + "' --replicas '" + replicas + "'";
    }

    /** {@code e:p} for every expert whose topic needs more than the base partitions. */
    static String expertPartitions(PlacementPlanner.Plan plan, int minPartitions) {
        StringBuilder sb = new StringBuilder();
        for (int e = 0; e < plan.partitions().length; e++) {
            if (plan.partitions()[e] != minPartitions) {
                sb.append(sb.length() == 0 ? "" : ",").append(e).append(':').append(plan.partitions()[e]);
            }
        }
        return sb.toString();
    }

    private static void print(
            PrintStream out,
            String source,
            double[] l,
            PlacementPlanner.Plan plan,
            Eplb eplb,
            int workers,
            int m,
            int minPartitions) {
        double total = 0;
        for (double x : l) {
            total += x;
        }
        out.println("moe plan: " + source);
        out.printf(Locale.ROOT, "%-8s %14s %7s %9s %11s%n", "expert", "load", "share", "replicas", "partitions");
        for (int e = 0; e < l.length; e++) {
            out.printf(
                    Locale.ROOT,
                    "%-8d %14.1f %6.1f%% %9d %11d%n",
                    e,
                    l[e],
                    total == 0 ? 0 : 100 * l[e] / total,
                    plan.groupOf(e).replicas(),
                    plan.partitions()[e]);
        }
        out.printf(Locale.ROOT, "%nplan for %d workers, at most %d experts each:%n", workers, m);
        out.printf(Locale.ROOT, "%-8s %-20s %9s %16s%n", "group", "experts", "replicas", "load per replica");
        List<String> names = names(plan);
        for (int i = 0; i < plan.groups().size(); i++) {
            PlacementPlanner.Group g = plan.groups().get(i);
            out.printf(
                    Locale.ROOT,
                    "%-8s %-20s %9d %16.1f%n",
                    names.get(i),
                    K8sManifests.ids(g.experts()),
                    g.replicas(),
                    g.loadPerReplica());
        }
        double ideal = total / workers;
        out.printf(
                Locale.ROOT,
                "most loaded worker: %.1f (ideal total/W %.1f, x%.3f); %d workers, %d expert copies%n",
                plan.maxWorkerLoad(),
                ideal,
                ideal == 0 ? 1 : plan.maxWorkerLoad() / ideal,
                plan.workers(),
                plan.copies());
        out.printf(
                Locale.ROOT,
                "EPLB greedy packing (global policy, %d workers x %d slots): most loaded worker %.1f (x%.3f),"
                        + " %d expert copies, %d distinct worker sets (one Deployment each)%n",
                workers,
                m,
                eplb.maxWorkerLoad(),
                ideal == 0 ? 1 : eplb.maxWorkerLoad() / ideal,
                eplb.copies(),
                eplb.distinctWorkerSets());
        out.println("k8s: moe k8s render --model DIR " + k8sArgs(plan, minPartitions));
    }

    /** A docker-compose override with one expert service per group of the plan. */
    static String composeOverride(PlacementPlanner.Plan plan, int minPartitions) throws Exception {
        String partitions = expertPartitions(plan, minPartitions);
        Map<String, Object> services = new LinkedHashMap<>();
        Map<String, Object> env = K8sManifests.map(
                "MOE_TOPICS_PARTITIONS", Integer.toString(minPartitions), "MOE_TOPICS_EXPERT_PARTITIONS", partitions);
        services.put("topic-init", K8sManifests.map("environment", env));
        services.put("gateway", K8sManifests.map("environment", env));
        // the stock expert services only start when their profile is asked for
        services.put("expert-hot", K8sManifests.map("profiles", List.of("unplanned")));
        services.put("experts-cold", K8sManifests.map("profiles", List.of("unplanned")));
        List<String> names = names(plan);
        for (int i = 0; i < plan.groups().size(); i++) {
            PlacementPlanner.Group g = plan.groups().get(i);
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("image", "${MOE_IMAGE:-moe-streams:0.1.0}");
            s.put(
                    "command",
                    List.of(
                            "expert",
                            "--model",
                            "/model",
                            "--experts",
                            K8sManifests.ids(g.experts()),
                            "--metrics-port",
                            "9400",
                            "--metrics-host",
                            "0.0.0.0"));
            s.put("scale", g.replicas());
            s.put(
                    "environment",
                    K8sManifests.map(
                            "MOE_BOOTSTRAP_SERVERS",
                            "kafka:9092",
                            "MOE_SCHEMA_REGISTRY_URL",
                            "http://registry:8080/apis/ccompat/v7",
                            "MOE_TOPICS_PARTITIONS",
                            Integer.toString(minPartitions),
                            "MOE_TOPICS_EXPERT_PARTITIONS",
                            partitions));
            s.put("volumes", List.of("model:/model:ro"));
            s.put(
                    "depends_on",
                    K8sManifests.map(
                            "topic-init",
                            K8sManifests.map("condition", "service_completed_successfully"),
                            "registry",
                            K8sManifests.map("condition", "service_healthy")));
            s.put("stop_grace_period", "60s");
            s.put("mem_limit", "2g");
            s.put("restart", "unless-stopped");
            services.put("expert-" + names.get(i), s);
        }
        YAMLMapper yaml = new YAMLMapper(new YAMLFactory()
                .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS));
        return "# Generated by `moe plan --compose-out`: the plan's expert groups for docker-compose.yml.\n"
                + yaml.writeValueAsString(K8sManifests.map("services", services));
    }
}
