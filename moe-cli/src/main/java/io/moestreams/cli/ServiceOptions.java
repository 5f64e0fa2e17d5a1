package io.moestreams.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.schemas.config.CommonKeys;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import picocli.CommandLine.Option;

/** Options shared by the service commands; each maps onto a {@code moe.*} setting (command line wins). */
final class ServiceOptions {

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Properties file: moe.* settings and Kafka client properties (e.g. security.protocol).")
    Path config;

    @Option(names = "--bootstrap-servers", paramLabel = "B", description = "Kafka bootstrap servers.")
    String bootstrapServers;

    @Option(
            names = "--schema-registry",
            paramLabel = "URL",
            description = "Confluent-API schema registry URL (e.g. http://host:8081 or .../apis/ccompat/v7).")
    String schemaRegistry;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "Model directory (moe.json + model.safetensors) or Hugging Face checkpoint directory.")
    Path model;

    @Option(
            names = "--layer",
            paramLabel = "L",
            description = "MoE layer of a Hugging Face checkpoint: decoder layer index, or encoder.B / decoder.B"
                    + " (switch_transformers). Setting moe.model.layer.")
    String layer;

    @Option(names = "--topic-prefix", paramLabel = "P", description = "Prefix of every topic (default moe.).")
    String topicPrefix;

    @Option(
            names = "--metrics-port",
            paramLabel = "PORT",
            description = "Serve the meters in the Prometheus format at http://<metrics-host>:PORT/metrics.")
    Integer metricsPort;

    @Option(
            names = "--metrics-host",
            defaultValue = "127.0.0.1",
            description = "Interface of the metrics endpoint (default ${DEFAULT-VALUE}; 0.0.0.0 in a container).")
    String metricsHost;

    @Option(
            names = "--dry-run",
            description = "Validate the settings and the model, print what would run, and exit (nothing is started).")
    boolean dryRun;

    private MetricsEndpoint endpoint;

    /**
     * The meter registry the service reports to: Prometheus when --metrics-port is given (the same port serves
     * /healthz and /readyz), else in-memory.
     */
    MeterRegistry meters(List<AutoCloseable> closeables) {
        if (metricsPort == null) {
            return new SimpleMeterRegistry();
        }
        endpoint = MetricsEndpoint.start(metricsHost, metricsPort);
        closeables.add(endpoint);
        System.err.println(
                "metrics: http://" + metricsHost + ":" + endpoint.port() + "/metrics (and /healthz, /readyz)");
        return endpoint.registry();
    }

    /** Installs the service's liveness and readiness checks on the endpoint (no-op without --metrics-port). */
    void probes(BooleanSupplier liveness, BooleanSupplier readiness) {
        if (endpoint != null) {
            endpoint.probes(liveness, readiness);
        }
    }

    Map<String, String> overrides() {
        Map<String, String> o = new LinkedHashMap<>();
        put(o, CommonKeys.BOOTSTRAP, bootstrapServers);
        put(o, CommonKeys.REGISTRY, schemaRegistry);
        put(o, CommonKeys.MODEL_DIR, model == null ? null : model.toString());
        put(o, CommonKeys.MODEL_LAYER, layer);
        put(o, CommonKeys.TOPIC_PREFIX, topicPrefix);
        return o;
    }

    static void put(Map<String, String> o, String key, String value) {
        if (value != null) {
            o.put(key, value);
        }
    }

    /**
     * Blocks until the JVM is asked to stop (Ctrl-C, SIGTERM), then closes {@code closeables} in order from a named
     * shutdown hook.
     */
    static void runUntilStopped(String name, List<AutoCloseable> closeables, String banner)
            throws InterruptedException {
        runUntilStopped(name, closeables, banner, new CompletableFuture<>());
    }

    /**
     * {@link #runUntilStopped(String, List, String)}, also ending the process with exit status 1 when
     * {@code fatal} completes (the service stopped for good: a restart by the supervisor is the cure).
     */
    static void runUntilStopped(
            String name, List<AutoCloseable> closeables, String banner, CompletableFuture<String> fatal)
            throws InterruptedException {
        fatal.thenAccept(reason -> {
            System.err.println("moe " + name + ": " + reason + "; exiting");
            System.exit(1); // runs the shutdown hook below, which closes everything
        });
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            for (AutoCloseable c : closeables) {
                                try {
                                    c.close();
                                } catch (Exception e) {
                                    System.err.println("moe: error while stopping: " + Errors.describe(e));
                                }
                            }
                            stopped.countDown();
                        },
                        "moe-" + name + "-shutdown"));
        System.err.println(banner);
        stopped.await();
    }
}
