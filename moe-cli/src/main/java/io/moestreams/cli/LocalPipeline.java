package io.moestreams.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.expert.ExpertConfig;
import io.moestreams.expert.ExpertService;
import io.moestreams.gateway.GatewayApp;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.config.LayeredConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The gateway and expert workers in this process, against a given cluster — what {@code infer} and {@code demo}
 * run on the embedded stack. The services are the same classes {@code moe gateway} / {@code moe expert} run.
 */
final class LocalPipeline implements AutoCloseable {

    private final GatewayApp gateway;
    private final List<ExpertService> experts;
    private final Path stateDir;

    private LocalPipeline(GatewayApp gateway, List<ExpertService> experts, Path stateDir) {
        this.gateway = gateway;
        this.experts = experts;
        this.stateDir = stateDir;
    }

    /**
     * @param expertGroups one expert process per entry, serving that set of experts
     * @param extra        extra {@code moe.*} / Kafka settings for both services (e.g. state dir, credit)
     */
    static LocalPipeline start(Path modelDir, String bootstrap, String registry, String topicPrefix,
                               List<Set<Integer>> expertGroups, Map<String, String> gatewayExtra,
                               Map<String, String> expertExtra, MeterRegistry meters) {
        Map<String, String> common = new LinkedHashMap<>();
        common.put("moe.bootstrap-servers", bootstrap);
        common.put("moe.schema-registry-url", registry);
        common.put("moe.topic-prefix", topicPrefix);
        common.put("moe.model-dir", modelDir.toString());
        Map<String, String> g = new LinkedHashMap<>(common);
        // A fresh state directory: local state of an earlier run belongs to an earlier cluster.
        Path stateDir;
        try {
            stateDir = Files.createTempDirectory("moe-gateway-state-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a state directory for the gateway", e);
        }
        g.put(GatewayConfig.STATE_DIR, stateDir.toString());
        g.putAll(gatewayExtra);
        GatewayApp gateway = GatewayApp.start(GatewayConfig.from(
                LayeredConfig.load(GatewayConfig.defaults(), null, Map.of(), g)), meters);
        List<ExpertService> services = new ArrayList<>();
        try {
            int i = 0;
            for (Set<Integer> group : expertGroups) {
                Map<String, String> e = new LinkedHashMap<>(common);
                e.put(ExpertConfig.EXPERTS, join(group));
                e.put(ExpertConfig.WORKER_ID, "local-" + i++);
                e.putAll(expertExtra);
                services.add(ExpertService.start(ExpertConfig.from(
                        LayeredConfig.load(ExpertConfig.defaults(), null, Map.of(), e)), meters));
            }
            if (!gateway.awaitRunning(java.time.Duration.ofSeconds(120))) {
                throw new IllegalStateException("the gateway did not reach RUNNING within 120 s");
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            services.forEach(ExpertService::close);
            gateway.close();
            throw new IllegalStateException("interrupted while starting the pipeline", ex);
        } catch (RuntimeException ex) {
            services.forEach(ExpertService::close);
            gateway.close();
            throw ex;
        }
        return new LocalPipeline(gateway, services, stateDir);
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
    public void close() {
        experts.forEach(ExpertService::close);
        gateway.close();
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
