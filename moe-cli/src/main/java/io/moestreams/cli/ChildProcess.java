package io.moestreams.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A {@code moe} subcommand running in its own JVM (same Java, same classpath), with its output in a log file:
 * how benchmarks and chaos tests run the services as separate OS processes. {@link #kill()} is a real SIGKILL.
 */
public final class ChildProcess implements AutoCloseable {

    private final String name;
    private final List<String> command;
    private final Map<String, String> env;
    private final Path log;
    private Process process;

    private ChildProcess(String name, List<String> command, Map<String, String> env, Path log) {
        this.name = name;
        this.command = command;
        this.env = env;
        this.log = log;
    }

    /**
     * Starts {@code moe <args>} in a new JVM.
     *
     * @param jvmOptions e.g. {@code -Xmx1g}
     * @param env        extra environment variables (e.g. {@code MOE_*} settings)
     * @param logDir     where {@code <name>.log} collects its stdout and stderr (appended across restarts)
     */
    public static ChildProcess start(
            String name, List<String> jvmOptions, List<String> args, Map<String, String> env, Path logDir) {
        return start(name, List.of(), jvmOptions, args, env, logDir);
    }

    /**
     * Starts {@code moe <args>} in a new JVM run through {@code launcher} (e.g. {@code taskset -c 1}, which executes
     * the JVM in its place).
     */
    public static ChildProcess start(
            String name,
            List<String> launcher,
            List<String> jvmOptions,
            List<String> args,
            Map<String, String> env,
            Path logDir) {
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MoeCli.class.getName());
        cmd.addAll(args);
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + logDir, e);
        }
        ChildProcess p = new ChildProcess(name, List.copyOf(cmd), Map.copyOf(env), logDir.resolve(name + ".log"));
        p.restart();
        return p;
    }

    /** Starts the process again with the same command (after {@link #kill()} or an exit). */
    public synchronized void restart() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is still running");
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        pb.environment()
                .put(
                        MoeCli.EXIT_WITH_PARENT,
                        Long.toString(ProcessHandle.current().pid()));
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + command.get(0), e);
        }
        mark("started, pid " + process.pid());
    }

    /** A line of the parent's own in the log (the child appends too), so restarts and kills can be told apart. */
    private void mark(String what) {
        try {
            Files.writeString(
                    log,
                    "--- " + LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + " " + name + " " + what + " ---\n",
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            // the marker is a diagnostic aid only
        }
    }

    /** SIGKILL: no shutdown hook runs, nothing is flushed or committed. Returns when the process is gone. */
    public synchronized void kill() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " survived SIGKILL for 30 s");
        }
        mark("killed (SIGKILL), pid " + process.pid());
    }

    /** SIGTERM, then waits for the exit (the service drains and leaves its groups). */
    public synchronized boolean stop(Duration grace) throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return true;
        }
        process.destroy();
        if (process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        kill();
        return false;
    }

    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** CPU time the current incarnation of the process has used so far, or zero if unknown. */
    public synchronized Duration cpuTime() {
        if (process == null) {
            return Duration.ZERO;
        }
        return process.toHandle().info().totalCpuDuration().orElse(Duration.ZERO);
    }

    public String name() {
        return name;
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() {
        try {
            stop(Duration.ofSeconds(20));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    @Override
    public String toString() {
        return "ChildProcess[" + name + ", pid " + pid() + "]";
    }
}
