package io.moestreams.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operating-system side of the embedded registry: the registry JVM started under a {@code sh} watchdog that
 * stops it when this JVM is gone (even after SIGKILL), its pid, and stopping the whole process tree.
 *
 * @param watchdog the {@code sh} watchdog process
 * @param registry the registry JVM
 * @param dir      the instance directory (deleted by the watchdog when this JVM is gone)
 * @param logFile  the registry's stdout/stderr
 * @param version  the Apicurio Registry version
 * @param cds      the class-data archive used or recorded
 */
record RegistryProcess(
        Process watchdog, ProcessHandle registry, Path dir, Path logFile, String version, CdsArchive cds) {

    private static final Logger LOGGER = LoggerFactory.getLogger(RegistryProcess.class);

    private static final Duration PID_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(5);
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

    /** Starts the registry JVM under its watchdog in a fresh directory and returns once its pid is known. */
    static RegistryProcess launch(ApicurioDistribution.Choice choice, Path launcher, int httpPort, int managementPort) {
        Path dir;
        try {
            dir = StaleDirs.create("moe-apicurio-");
            Files.createDirectories(dir.resolve("tmp"));
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a temporary directory for Apicurio Registry", e);
        }
        Path logFile = dir.resolve("registry.log");
        CdsArchive cds = CdsArchive.choose(choice, dir);
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
            return new RegistryProcess(watchdog, registry, dir, logFile, choice.version(), cds);
        } catch (RuntimeException e) {
            String tail = LogTail.of(logFile, EmbeddedSchemaRegistry.LOG_TAIL_LINES);
            stopTree(watchdog, null, EmbeddedSchemaRegistry.STOP_TIMEOUT);
            Dirs.deleteRecursively(dir);
            throw new IllegalStateException(e.getMessage() + "\n--- last lines of the registry log ---\n" + tail, e);
        }
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
            EmbeddedSchemaRegistry.pause(20);
        }
        throw new IllegalStateException(
                "the Apicurio Registry watchdog wrote no pid file within " + PID_TIMEOUT.toSeconds() + " s");
    }

    /**
     * Stops the registry with TERM (the watchdog follows it within 0.5 s), KILLs whatever is left of the tree
     * after a grace period. Returns true when everything exited by itself after the TERM.
     */
    static boolean stopTree(Process watchdog, ProcessHandle registry, Duration timeout) {
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
}
