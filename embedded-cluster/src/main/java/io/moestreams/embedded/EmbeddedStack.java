package io.moestreams.embedded;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default of the platform: a KRaft Kafka broker in this JVM and an Apicurio schema registry
 * child process, started in parallel. Every stack has its own ports and directories, so several can run
 * side by side.
 */
public final class EmbeddedStack implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedStack.class);

    /** How long start-up took: each part on its own, and the whole stack (the parts overlap). */
    public record StartupTimes(long brokerMillis, long registryMillis, long totalMillis) {
        public StartupTimes {
            if (brokerMillis < 0 || registryMillis < 0 || totalMillis < 0) {
                throw new IllegalArgumentException("start-up times must be >= 0 ms, found broker=" + brokerMillis
                        + " registry=" + registryMillis + " total=" + totalMillis);
            }
        }
    }

    private final EmbeddedKafka kafka;
    private final EmbeddedSchemaRegistry registry;
    private final StartupTimes startupTimes;

    private EmbeddedStack(EmbeddedKafka kafka, EmbeddedSchemaRegistry registry, StartupTimes startupTimes) {
        this.kafka = kafka;
        this.registry = registry;
        this.startupTimes = startupTimes;
    }

    /** Starts broker (default settings) and registry in parallel and returns when both are ready. */
    public static EmbeddedStack start() {
        return start(Map.of());
    }

    /**
     * Starts broker and registry in parallel and returns when both are ready. If either fails, the other
     * is stopped and the failure is thrown.
     *
     * @param brokerOverrides broker properties on top of the embedded defaults, see {@link EmbeddedKafka#start(Map)}
     */
    public static EmbeddedStack start(Map<String, String> brokerOverrides) {
        return start(brokerOverrides, null);
    }

    /**
     * Starts a secure broker ({@link EmbeddedKafka#startSecure}: SASL_SSL, SCRAM-SHA-512, ACLs, deny by default) and
     * the registry. The registry listens on 127.0.0.1 over plain HTTP without authentication.
     *
     * @param users SCRAM users besides the broker's and the admin's
     */
    public static EmbeddedStack startSecure(Collection<String> users) {
        return start(Map.of(), List.copyOf(users));
    }

    private static EmbeddedStack start(Map<String, String> brokerOverrides, List<String> secureUsers) {
        Objects.requireNonNull(brokerOverrides, "brokerOverrides");
        long t0 = System.nanoTime();
        CompletableFuture<EmbeddedSchemaRegistry> registryFuture = new CompletableFuture<>();
        Thread registryStarter = new Thread(
                () -> {
                    try {
                        registryFuture.complete(EmbeddedSchemaRegistry.start());
                    } catch (RuntimeException | Error e) {
                        registryFuture.completeExceptionally(e);
                    }
                },
                "moe-embedded-registry-start");
        registryStarter.setDaemon(true);
        registryStarter.start();

        EmbeddedKafka kafka;
        try {
            kafka = EmbeddedKafka.start(brokerOverrides, secureUsers);
        } catch (RuntimeException | Error brokerFailure) {
            try {
                registryFuture.join().close();
            } catch (RuntimeException registryFailure) {
                brokerFailure.addSuppressed(registryFailure);
            }
            throw brokerFailure;
        }
        EmbeddedSchemaRegistry registry;
        try {
            registry = registryFuture.join();
        } catch (CompletionException e) {
            kafka.close();
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException("starting the schema registry failed: " + cause, cause);
        }
        StartupTimes times = new StartupTimes(
                kafka.startupMillis(), registry.startupMillis(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        LOGGER.info(
                "embedded stack ready in {} ms (broker {} ms, registry {} ms): bootstrap.servers={} "
                        + "schema.registry.url={}",
                times.totalMillis(),
                times.brokerMillis(),
                times.registryMillis(),
                kafka.bootstrapServers(),
                registry.url());
        return new EmbeddedStack(kafka, registry, times);
    }

    /** {@code bootstrap.servers} of the broker. */
    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** Base URL of the registry's Confluent-compatible API ({@code .../apis/ccompat/v7}). */
    public String schemaRegistryUrl() {
        return registry.url();
    }

    /** How long broker, registry and the whole stack took to start. */
    public StartupTimes startupMillis() {
        return startupTimes;
    }

    /** The broker. */
    public EmbeddedKafka kafka() {
        return kafka;
    }

    /** The schema registry. */
    public EmbeddedSchemaRegistry schemaRegistry() {
        return registry;
    }

    /** Stops registry and broker (in parallel); idempotent. */
    @Override
    public void close() {
        CompletableFuture<Void> registryStop = CompletableFuture.runAsync(registry::close, runnable -> {
            Thread thread = new Thread(runnable, "moe-embedded-registry-stop");
            thread.setDaemon(true);
            thread.start();
        });
        RuntimeException failure = null;
        try {
            kafka.close();
        } catch (RuntimeException e) {
            failure = e;
        }
        try {
            registryStop.join();
        } catch (CompletionException e) {
            RuntimeException cause =
                    e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            if (failure == null) {
                failure = cause;
            } else {
                failure.addSuppressed(cause);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "EmbeddedStack[bootstrap.servers=" + bootstrapServers() + ", schema.registry.url=" + schemaRegistryUrl()
                + "]";
    }
}
