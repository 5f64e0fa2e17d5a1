package io.moestreams.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.expert.ExpertConfig;
import io.moestreams.expert.ExpertService;
import io.moestreams.gateway.GatewayApp;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.config.CommonKeys;
import io.moestreams.schemas.config.LayeredConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The gateway and expert workers in this process, against a given cluster — what {@code infer} and {@code demo}
 * run on the embedded stack. The services are the same classes {@code moe gateway} / {@code moe expert} run.
 */
final class LocalPipeline implements AutoCloseable {

    private final Map<String, String> common;
    private final Map<String, String> expertExtra;
    private final MeterRegistry meters;
    private final Path stateDir;
    private GatewayApp gateway;
    private final List<ExpertService> experts = new ArrayList<>();
    private int nextWorker;

    private LocalPipeline(
            Map<String, String> common, Map<String, String> expertExtra, MeterRegistry meters, Path stateDir) {
        this.common = common;
        this.expertExtra = expertExtra;
        this.meters = meters;
        this.stateDir = stateDir;
    }

    /**
     * The {@code MOE_*} environment variables: they tune the embedded pipeline as they tune {@code moe gateway} and
     * {@code moe expert} (e.g. {@code MOE_GATEWAY_EAGER_COMMIT}); {@code KAFKA_*} ones are left out, they are meant
     * for a real cluster, not for the embedded broker.
     */
    private static Map<String, String> moeEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        System.getenv().forEach((k, v) -> {
            if (k.startsWith("MOE_")) {
                env.put(k, v);
            }
        });
        return env;
    }

    /**
     * Starts the gateway (and waits until it is RUNNING) and one expert process per entry of {@code expertGroups}
     * (expert specs such as {@code 0-3} or {@code 4-7,shared}).
     *
     * @param gatewayExtra extra {@code moe.*} / Kafka settings of the gateway (e.g. credit, application id)
     * @param expertExtra  extra settings of every expert process (e.g. group prefix)
     */
    static LocalPipeline start(
            Path modelDir,
            String bootstrap,
            String registry,
            String topicPrefix,
            List<String> expertGroups,
            Map<String, String> gatewayExtra,
            Map<String, String> expertExtra,
            MeterRegistry meters) {
        Map<String, String> common = new LinkedHashMap<>();
        common.put(CommonKeys.BOOTSTRAP, bootstrap);
        common.put(CommonKeys.REGISTRY, registry);
        common.put(CommonKeys.TOPIC_PREFIX, topicPrefix);
        common.put(CommonKeys.MODEL_DIR, modelDir.toString());
        Path stateDir;
        try {
            // A fresh state directory: local state of an earlier run belongs to an earlier cluster.
            stateDir = Files.createTempDirectory("moe-gateway-state-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a state directory for the gateway", e);
        }
        // Runs on other topic prefixes get their own Streams application and consumer groups.
        String suffix =
                topicPrefix.equals(Topics.DEFAULT_PREFIX) ? "" : "-" + topicPrefix.replaceAll("[^A-Za-z0-9_-]", "");
        Map<String, String> e = new LinkedHashMap<>();
        e.put(ExpertConfig.GROUP_PREFIX, "moe-expert" + suffix + "-");
        e.putAll(expertExtra);
        LocalPipeline p = new LocalPipeline(common, Map.copyOf(e), meters, stateDir);
        try {
            Map<String, String> g = new LinkedHashMap<>(common);
            g.put(GatewayConfig.APPLICATION_ID, "moe-gateway" + suffix);
            g.put(GatewayConfig.STATE_DIR, stateDir.toString());
            // cluster flow control reads the experts' consumer groups: the same prefix as theirs
            g.put(GatewayConfig.EXPERT_GROUP_PREFIX, e.get(ExpertConfig.GROUP_PREFIX));
            g.putAll(gatewayExtra);
            p.gateway = GatewayApp.start(
                    GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), null, moeEnv(), g)), meters);
            for (String group : expertGroups) {
                p.startExperts(group);
            }
            if (!p.gateway.awaitRunning(Duration.ofSeconds(120))) {
                throw new IllegalStateException("the gateway did not reach RUNNING within 120 s");
            }
            return p;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            p.close();
            throw new IllegalStateException("interrupted while starting the pipeline", ex);
        } catch (RuntimeException ex) {
            p.close();
            throw ex;
        }
    }

    /** Starts one more expert process serving {@code group}; it joins each expert's consumer group. */
    synchronized ExpertService startExperts(Set<Integer> group) {
        return startExperts(join(group));
    }

    /** Starts one more expert process serving {@code spec} ({@code 0-3}, {@code 4-7,shared}, {@code s0}). */
    synchronized ExpertService startExperts(String spec) {
        return startExperts(spec, Map.of());
    }

    /**
     * Starts one more expert process serving {@code spec} with settings of its own on top of the common ones (e.g.
     * the Kafka client properties of its expert group's principal).
     */
    synchronized ExpertService startExperts(String spec, Map<String, String> extra) {
        Map<String, String> e = new LinkedHashMap<>(common);
        e.put(ExpertConfig.EXPERTS, spec);
        e.put(ExpertConfig.WORKER_ID, "local-" + nextWorker++);
        e.putAll(expertExtra);
        e.putAll(extra);
        ExpertService service = ExpertService.start(
                ExpertConfig.from(LayeredConfig.load(ExpertConfig.defaults(), null, moeEnv(), e)), meters);
        experts.add(service);
        return service;
    }

    /** Stops one expert process (its uncommitted work is aborted and consumed again by the group). */
    synchronized void stopExperts(ExpertService service) {
        if (experts.remove(service)) {
            service.close();
        }
    }

    private static String join(Set<Integer> experts) {
        StringBuilder sb = new StringBuilder();
        for (int e : experts) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(e);
        }
        return sb.toString();
    }

    GatewayApp gateway() {
        return gateway;
    }

    @Override
    public synchronized void close() {
        experts.forEach(ExpertService::close);
        experts.clear();
        if (gateway != null) {
            gateway.close();
        }
        deleteRecursively(stateDir);
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover temp directory is harmless
        }
    }
}
