package io.moestreams.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * The service's HTTP endpoint for orchestrators: the meters in the Prometheus text format at {@code /metrics},
 * liveness at {@code /healthz} and readiness at {@code /readyz} (200 or 503). Until the service has started,
 * {@code /healthz} answers 200 (the process is up) and {@code /readyz} 503.
 */
final class MetricsEndpoint implements AutoCloseable {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpServer server;
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private volatile BooleanSupplier live = () -> true;
    private volatile BooleanSupplier ready = () -> false;

    private MetricsEndpoint(String host, int port) {
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port, e);
        }
        // the JVM's memory, GC and CPU next to the moe and Kafka meters (memory stays flat under overload)
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        server.createContext("/metrics", exchange -> {
            byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            send(exchange, 200, body);
        });
        server.createContext("/healthz", exchange -> probe(exchange, live, "ok", "unhealthy"));
        server.createContext("/readyz", exchange -> probe(exchange, ready, "ready", "not ready"));
        server.start();
    }

    /** Serves on {@code host:port}; port 0 picks a free port. */
    static MetricsEndpoint start(String host, int port) {
        return new MetricsEndpoint(host, port);
    }

    /** Installs the service's liveness and readiness checks, called on every probe. */
    void probes(BooleanSupplier liveness, BooleanSupplier readiness) {
        this.live = liveness;
        this.ready = readiness;
    }

    private static void probe(HttpExchange exchange, BooleanSupplier check, String yes, String no) throws IOException {
        boolean ok;
        try {
            ok = check.getAsBoolean();
        } catch (RuntimeException e) {
            ok = false;
        }
        exchange.getResponseHeaders().add("Content-Type", "text/plain; charset=utf-8");
        send(exchange, ok ? 200 : 503, ((ok ? yes : no) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        gc.close();
        registry.close();
    }
}
