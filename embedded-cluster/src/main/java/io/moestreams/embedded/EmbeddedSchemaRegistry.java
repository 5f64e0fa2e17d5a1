package io.moestreams.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
    private static final Duration PID_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    /** Writing the class-data archive at exit takes 4-15 s on 2 busy cores. */
    private static final Duration STOP_TIMEOUT_WHILE_RECORDING = Duration.ofSeconds(60);

    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(5);
    private static final int START_ATTEMPTS = 3;
    private static final int LOG_TAIL_LINES = 40;
    private static final String HEAP = "-Xmx384m";

    /**
     * Runs "$@" (the registry JVM) in the background, writes its pid to $2/registry.pid and polls every
     * 0.5 s: when the parent JVM ($1) is gone it stops the registry (TERM, then KILL after 5 s) and deletes
     * the instance directory ($2); when the registry exits it exits with the registry's status.
     */
    private static final String WATCHDOG = String.join(
            "\n",
            "parent=$1; workdir=$2; shift 2",
            "\"$@\" &",
            "child=$!",
            "echo \"$child\" > \"$workdir/registry.pid.tmp\" && mv \"$workdir/registry.pid.tmp\" \"$workdir/registry.pid\"",
            "stop_child() {",
            "  kill -TERM \"$child\" 2>/dev/null",
            "  n=0",
            "  while kill -0 \"$child\" 2>/dev/null; do",
            "    n=$((n + 1))",
            "    if [ \"$n\" -gt 50 ]; then kill -KILL \"$child\" 2>/dev/null; break; fi",
            "    sleep 0.1 2>/dev/null || sleep 1",
            "  done",
            "}",
            "trap 'stop_child; exit 143' TERM INT HUP",
            "while kill -0 \"$child\" 2>/dev/null; do",
            "  if ! kill -0 \"$parent\" 2>/dev/null; then",
            "    stop_child",
            "    rm -rf \"$workdir\"",
            "    exit 0",
            "  fi",
            "  sleep 0.5 2>/dev/null || sleep 1",
            "done",
            "wait \"$child\"");

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

    private EmbeddedSchemaRegistry(Launched launched, String url, long startupMillis) {
        this.watchdog = launched.watchdog;
        this.registry = launched.registry;
        this.dir = launched.dir;
        this.logFile = launched.logFile;
        this.version = launched.version;
        this.cds = launched.cds;
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
        Launched launched = launch(choice, launcher, ports[0], ports[1]);
        String base = "http://127.0.0.1:" + ports[0] + API_PATH;
        try {
            awaitReady(launched, base);
        } catch (RuntimeException e) {
            String tail = LogTail.of(launched.logFile, LOG_TAIL_LINES);
            stopTree(launched.watchdog, launched.registry, STOP_TIMEOUT);
            Dirs.deleteRecursively(launched.dir);
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
                launched.registry.pid(),
                launched.cds.dumpTo() != null ? " (recording a class-data archive for faster starts)" : "");
        return new EmbeddedSchemaRegistry(launched, base, millis);
    }

    /** Use {@code archive} if present, else record one into {@code dumpTo}, to be kept as {@code keepAs}. */
    private record CdsArchive(Path archive, Path dumpTo, Path keepAs) {}

    private record Launched(
            Process watchdog, ProcessHandle registry, Path dir, Path logFile, String version, CdsArchive cds) {}

    private static Launched launch(
            ApicurioDistribution.Choice choice, Path launcher, int httpPort, int managementPort) {
        Path dir;
        try {
            dir = StaleDirs.create("moe-apicurio-");
            Files.createDirectories(dir.resolve("tmp"));
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a temporary directory for Apicurio Registry", e);
        }
        Path logFile = dir.resolve("registry.log");
        CdsArchive cds = cdsArchive(choice, dir);
        List<String> command = new ArrayList<>(List.of(
                "sh",
                "-c",
                WATCHDOG,
                "moe-registry-watchdog",
                String.valueOf(ProcessHandle.current().pid()),
                dir.toString(),
                choice.jdk().java().toString(),
                HEAP,
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-XX:-UsePerfData"));
        if (cds.archive() != null) {
            command.add("-XX:SharedArchiveFile=" + cds.archive());
        } else if (cds.dumpTo() != null) {
            command.add("-XX:ArchiveClassesAtExit=" + cds.dumpTo());
        }
        command.addAll(List.of(
                "-Djava.io.tmpdir=" + dir.resolve("tmp"),
                "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=" + httpPort,
                "-Dquarkus.management.host=127.0.0.1",
                "-Dquarkus.management.port=" + managementPort,
                "-Dapicurio.rules.global.compatibility=BACKWARD",
                "-Dapicurio.ccompat.use-canonical-hash=true",
                "-jar",
                launcher.toString()));
        Process watchdog;
        try {
            watchdog = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(logFile.toFile())
                    .start();
            watchdog.getOutputStream().close();
        } catch (IOException e) {
            Dirs.deleteRecursively(dir);
            throw new UncheckedIOException(
                    "could not start Apicurio Registry with " + choice.jdk().java(), e);
        }
        try {
            ProcessHandle registry = awaitPid(watchdog, dir.resolve("registry.pid"));
            return new Launched(watchdog, registry, dir, logFile, choice.version(), cds);
        } catch (RuntimeException e) {
            String tail = LogTail.of(logFile, LOG_TAIL_LINES);
            stopTree(watchdog, null, STOP_TIMEOUT);
            Dirs.deleteRecursively(dir);
            throw new IllegalStateException(e.getMessage() + "\n--- last lines of the registry log ---\n" + tail, e);
        }
    }

    private static CdsArchive cdsArchive(ApicurioDistribution.Choice choice, Path dir) {
        if ("false".equalsIgnoreCase(System.getProperty("moe.embedded.registry.cds", "true"))) {
            return new CdsArchive(null, null, null);
        }
        // an archive only fits the JVM build that wrote it: name it by JDK version and home
        String jdk = choice.jdk().version().replaceAll("[^A-Za-z0-9._-]", "_") + "-"
                + Integer.toHexString(choice.jdk().home().toString().hashCode());
        Path archive = ApicurioDistribution.cacheDir()
                .resolve("cds")
                .resolve("apicurio-" + choice.version() + "-java-" + jdk + ".jsa");
        if (Files.isRegularFile(archive)) {
            return new CdsArchive(archive, null, null);
        }
        return new CdsArchive(null, dir.resolve("classes.jsa"), archive);
    }

    private static ProcessHandle awaitPid(Process watchdog, Path pidFile) {
        long deadline = System.nanoTime() + PID_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.isRegularFile(pidFile)) {
                try {
                    long pid = Long.parseLong(
                            Files.readString(pidFile, StandardCharsets.US_ASCII).strip());
                    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
                    if (handle.isPresent()) {
                        return handle.get();
                    }
                    throw new IllegalStateException("the Apicurio Registry JVM (pid " + pid + ") exited at once");
                } catch (IOException | NumberFormatException e) {
                    LOGGER.debug("pid file {} not readable yet: {}", pidFile, e.toString());
                }
            }
            if (!watchdog.isAlive()) {
                throw new IllegalStateException("the Apicurio Registry watchdog exited with code "
                        + watchdog.exitValue() + " before starting the registry");
            }
            pause(20);
        }
        throw new IllegalStateException(
                "the Apicurio Registry watchdog wrote no pid file within " + PID_TIMEOUT.toSeconds() + " s");
    }

    private static void awaitReady(Launched launched, String base) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String last = "no answer yet";
        while (System.nanoTime() < deadline) {
            if (!launched.registry.isAlive() || !launched.watchdog.isAlive()) {
                throw new IllegalStateException("Apicurio Registry (pid " + launched.registry.pid()
                        + ") exited during start-up" + exitCode(launched.watchdog));
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
                + READY_TIMEOUT.toSeconds() + " s (last: " + last + "); log " + launched.logFile);
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
        boolean graceful =
                stopTree(watchdog, registry, cds.dumpTo() != null ? STOP_TIMEOUT_WHILE_RECORDING : STOP_TIMEOUT);
        if (graceful) {
            keepCdsArchive(watchdog.exitValue());
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

    /** Moves a class-data archive recorded by this run into the cache, atomically, for later starts. */
    private void keepCdsArchive(int exitCode) {
        Path dumped = cds.dumpTo();
        if (dumped == null || !Files.isRegularFile(dumped)) {
            return;
        }
        if (exitCode != 0 && exitCode != 143) {
            LOGGER.debug("not keeping class-data archive {}: registry exit code {}", dumped, exitCode);
            return;
        }
        Path target = cds.keepAs();
        try {
            if (Files.size(dumped) == 0 || Files.exists(target)) {
                return;
            }
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling("." + UUID.randomUUID() + ".tmp");
            Files.copy(dumped, tmp);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            LOGGER.info("recorded a class-data archive for faster Apicurio Registry starts: {}", target);
        } catch (IOException e) {
            LOGGER.warn("could not keep the class-data archive {} as {}: {}", dumped, target, e.toString());
        }
    }

    /**
     * Stops the registry with TERM (the watchdog follows it within 0.5 s), KILLs whatever is left of the tree
     * after a grace period. Returns true when everything exited by itself after the TERM.
     */
    private static boolean stopTree(Process watchdog, ProcessHandle registry, Duration timeout) {
        List<ProcessHandle> handles = new ArrayList<>();
        if (registry != null) {
            handles.add(registry);
        }
        watchdog.descendants().filter(h -> !handles.contains(h)).forEach(handles::add);
        handles.add(watchdog.toHandle());
        if (registry != null && registry.isAlive()) {
            registry.destroy(); // not the watchdog: its own TERM handling would KILL a registry still exiting
        } else {
            watchdog.destroy();
        }
        List<ProcessHandle> alive = awaitExit(handles, timeout);
        if (alive.isEmpty()) {
            return true;
        }
        LOGGER.warn(
                "Apicurio Registry processes {} did not stop within {} s; killing them",
                alive.stream().map(ProcessHandle::pid).toList(),
                timeout.toSeconds());
        alive.forEach(ProcessHandle::destroyForcibly);
        alive = awaitExit(alive, KILL_TIMEOUT);
        if (!alive.isEmpty()) {
            throw new IllegalStateException("Apicurio Registry processes "
                    + alive.stream().map(ProcessHandle::pid).toList() + " survived SIGKILL for "
                    + KILL_TIMEOUT.toSeconds() + " s");
        }
        return false;
    }

    private static List<ProcessHandle> awaitExit(List<ProcessHandle> handles, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<ProcessHandle> alive = new ArrayList<>();
        for (ProcessHandle handle : handles) {
            long remaining = deadline - System.nanoTime();
            try {
                handle.onExit().get(Math.max(remaining, 1), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                alive.add(handle);
            } catch (ExecutionException e) {
                throw new IllegalStateException("waiting for process " + handle.pid() + " failed", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while stopping Apicurio Registry", e);
            }
        }
        return alive;
    }

    private static void pause(long millis) {
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
