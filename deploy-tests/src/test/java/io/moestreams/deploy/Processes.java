package io.moestreams.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs external commands (docker, docker-compose, kubectl, ./moe) with a deadline and captured output. */
final class Processes {

    /** What a finished command returned. */
    record Result(List<String> command, int exitCode, String output) {
        Result orFail() {
            if (exitCode != 0) {
                throw new AssertionError(
                        String.join(" ", command) + " exited " + exitCode + ":\n" + tail(output, 4000));
            }
            return this;
        }
    }

    private Processes() {}

    static Result run(Duration timeout, Map<String, String> env, List<String> command) {
        return run(timeout, env, null, command);
    }

    /** Runs {@code command} in {@code dir} (null: the current directory), stdout and stderr merged. */
    static Result run(Duration timeout, Map<String, String> env, Path dir, List<String> command) {
        Path out = null;
        try {
            out = Files.createTempFile("moe-deploy-", ".out");
            Process p = start(env, dir, command, out);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout + ":\n"
                        + tail(Files.readString(out, StandardCharsets.UTF_8), 4000));
            }
            return new Result(command, p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + String.join(" ", command), e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    /** Starts {@code command} in the background, its output going to {@code log}. */
    static Process start(Map<String, String> env, Path dir, List<String> command, Path log) throws IOException {
        ProcessBuilder pb =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.environment().putAll(env);
        return pb.start();
    }

    /** True when {@code program} is found on the PATH. */
    static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    static String tail(String s, int chars) {
        return s.length() <= chars ? s : "..." + s.substring(s.length() - chars);
    }
}
