package io.moestreams.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Apicurio Registry, a schema registry with the Confluent REST API, running as a child process on free
 * 127.0.0.1 ports with in-memory storage and BACKWARD compatibility as the global rule.
 *
 * <p>The registry JVM is started through a small {@code sh} watchdog that kills it when this JVM is gone,
 * even after a SIGKILL; {@link #close()} and a shutdown hook stop the whole process tree. Its output goes
 * to a log file in a temporary directory that {@link #close()} deletes.
 *
 * <p>The first start on a machine unpacks the distribution into {@code ~/.cache/moe-streams} (and, when
 * absent from the local Maven repository, fetches it with {@code mvn}); it also records a class-data
 * sharing archive there at its {@link #close()}, which makes later starts faster. Set the system property
 * {@code moe.embedded.registry.cds=false} to run without that archive, and
 * {@code moe.embedded.registry.java.home=<JDK home>} to run it on a given JDK instead of the newest found.
 */
public final class EmbeddedSchemaRegistry implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedSchemaRegistry.class);

    private static final String API_PATH = "/apis/ccompat/v7";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    /** Writing the class-data archive at exit takes 4-15 s on 2 busy cores. */
    private static final Duration STOP_TIMEOUT_WHILE_RECORDING = Duration.ofSeconds(60);

    private static final int START_ATTEMPTS = 3;
    static final int LOG_TAIL_LINES = 40;

    private final Process watchdog;
    private final ProcessHandle registry;
    private final Path dir;
    private final Path logFile;
    private final String url;
    private final String version;
    private final long startupMillis;
    private final CdsArchive cds;
    private final Thread shutdownHook;
    private boolean closed;

    private EmbeddedSchemaRegistry(RegistryProcess launched, String url, long startupMillis) {
        this.watchdog = launched.watchdog();
        this.registry = launched.registry();
        this.dir = launched.dir();
        this.logFile = launched.logFile();
        this.version = launched.version();
        this.cds = launched.cds();
        this.url = url;
        this.startupMillis = startupMillis;
        this.shutdownHook = new Thread(this::closeQuietly, "moe-embedded-registry-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts a registry and returns once {@code GET /apis/ccompat/v7/subjects} answers 200. Picks the newest
     * JDK on this machine: Java 21+ runs {@code apicurio.version}, Java 17 runs {@code apicurio.java17.version}.
     */
    public static EmbeddedSchemaRegistry start() {
        long t0 = System.nanoTime();
        ApicurioDistribution.Choice choice = ApicurioDistribution.choose();
        Path home = ApicurioDistribution.unpacked(choice.version());
        Path launcher = ApicurioDistribution.launcherIn(home)
                .orElseThrow(() -> new IllegalStateException("no launcher jar in " + home));
        RuntimeException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            try {
                return startOnce(choice, launcher, t0);
            } catch (PortTakenException e) {
                last = e;
                LOGGER.info(
                        "Apicurio Registry port was taken by another process (attempt {}/{}), retrying on new ports",
                        attempt,
                        START_ATTEMPTS);
            }
        }
        throw last;
    }

    private static EmbeddedSchemaRegistry startOnce(ApicurioDistribution.Choice choice, Path launcher, long t0) {
        int[] ports = FreePorts.allocate(2);
        RegistryProcess launched = RegistryProcess.launch(choice, launcher, ports[0], ports[1]);
        String base = "http://127.0.0.1:" + ports[0] + API_PATH;
        try {
            awaitReady(launched, base);
        } catch (RuntimeException e) {
            String tail = LogTail.of(launched.logFile(), LOG_TAIL_LINES);
            RegistryProcess.stopTree(launched.watchdog(), launched.registry(), STOP_TIMEOUT);
            Dirs.deleteRecursively(launched.dir());
            if (tail.contains("already in use")
                    || tail.contains("seems to be in use")
                    || tail.contains("BindException")) {
                throw new PortTakenException(e);
            }
            throw new IllegalStateException(e.getMessage() + "\n--- last lines of the registry log ---\n" + tail, e);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        LOGGER.info(
                "Apicurio Registry {} (Java {}) ready at {} in {} ms, pid {}{}",
                choice.version(),
                choice.jdk().version(),
                base,
                millis,
                launched.registry().pid(),
                launched.cds().dumpTo() != null ? " (recording a class-data archive for faster starts)" : "");
        return new EmbeddedSchemaRegistry(launched, base, millis);
    }

    private static void awaitReady(RegistryProcess launched, String base) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String last = "no answer yet";
        while (System.nanoTime() < deadline) {
            if (!launched.registry().isAlive() || !launched.watchdog().isAlive()) {
                throw new IllegalStateException("Apicurio Registry (pid "
                        + launched.registry().pid() + ") exited during start-up" + exitCode(launched.watchdog()));
            }
            try {
                int status = get(base + "/subjects");
                if (status == 200) {
                    return;
                }
                last = "HTTP " + status;
            } catch (IOException e) {
                last = e.toString();
            }
            pause(100);
        }
        throw new IllegalStateException("Apicurio Registry did not answer GET " + base + "/subjects with 200 within "
                + READY_TIMEOUT.toSeconds() + " s (last: " + last + "); log " + launched.logFile());
    }

    private static String exitCode(Process watchdog) {
        try {
            return watchdog.waitFor(1, TimeUnit.SECONDS) ? " with code " + watchdog.exitValue() : "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private static int get(String address) throws IOException {
        HttpURLConnection connection =
                (HttpURLConnection) URI.create(address).toURL().openConnection();
        try {
            connection.setConnectTimeout(1000);
            connection.setReadTimeout(5000);
            connection.setRequestProperty("Accept", "application/vnd.schemaregistry.v1+json, application/json");
            int status = connection.getResponseCode();
            InputStream body = status < 400 ? connection.getInputStream() : connection.getErrorStream();
            if (body != null) {
                body.readAllBytes();
                body.close();
            }
            return status;
        } finally {
            connection.disconnect();
        }
    }

    /** Base URL of the Confluent-compatible API, {@code http://127.0.0.1:<port>/apis/ccompat/v7}. */
    public String url() {
        return url;
    }

    /** Process id of the registry JVM. */
    public long pid() {
        return registry.pid();
    }

    /** The Apicurio Registry version that runs. */
    public String version() {
        return version;
    }

    /** The registry's stdout/stderr; deleted by {@link #close()}. */
    public Path logFile() {
        return logFile;
    }

    /** Milliseconds from {@link #start()} until the registry answered, including a first-time unpack. */
    public long startupMillis() {
        return startupMillis;
    }

    /** Stops the registry process tree, waits for it to exit and deletes the temporary directory. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shutdownInProgress) {
            // called from a shutdown hook: nothing to unregister
        }
        long t0 = System.nanoTime();
        boolean graceful = RegistryProcess.stopTree(
                watchdog, registry, cds.dumpTo() != null ? STOP_TIMEOUT_WHILE_RECORDING : STOP_TIMEOUT);
        if (graceful) {
            cds.keep(watchdog.exitValue());
        }
        Dirs.deleteRecursively(dir);
        LOGGER.info(
                "Apicurio Registry at {} stopped in {} ms", url, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException e) {
            LOGGER.warn("stopping Apicurio Registry at {} failed: {}", url, e.toString());
        }
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for Apicurio Registry", e);
        }
    }

    @Override
    public String toString() {
        return "EmbeddedSchemaRegistry[" + url + ", Apicurio " + version + "]";
    }

    /** The probed port was bound by someone else before the registry could bind it. */
    private static final class PortTakenException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PortTakenException(Throwable cause) {
            super("a port chosen for Apicurio Registry was taken before it could bind: " + cause, cause);
        }
    }
}
