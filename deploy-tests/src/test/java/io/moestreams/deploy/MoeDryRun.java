package io.moestreams.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks a container's command line and environment against the real CLI: {@code ./moe <args> --dry-run} with
 * that environment (settings and model validated, nothing started). The model path of the manifests (/model) is
 * replaced by a generated demo model with the same shape as the one the deployments generate.
 */
final class MoeDryRun {

    /** Commands that take --dry-run. */
    private static final Set<String> SERVICES = Set.of("gateway", "expert", "init-topics");

    private static Path model;
    private static final Map<String, String> RESULTS = new HashMap<>();

    private MoeDryRun() {}

    /** The demo model of docker-compose.yml's model-init and the dev overlay's init container. */
    static synchronized Path model() {
        if (model == null) {
            Path dir = Path.of("target", "dry-run-model").toAbsolutePath();
            run(
                    List.of(
                            "generate-model",
                            "--out",
                            dir.toString(),
                            "--if-absent",
                            "--experts",
                            "8",
                            "--hidden",
                            "64",
                            "--ffn",
                            "128",
                            "--seed",
                            "42"),
                    Map.of());
            model = dir;
        }
        return model;
    }

    /**
     * Runs the container's args (the image's entry point is the moe command) with its environment; a service
     * command with --dry-run, generate-model for real into a scratch directory.
     *
     * @param where names the container in failure messages
     */
    static void check(String where, List<String> args, Map<String, String> env) {
        if (args.isEmpty()) {
            throw new AssertionError(where + ": no args (the image would only print its help)");
        }
        List<String> cmd = new ArrayList<>();
        String command = args.get(0);
        for (String a : args) {
            cmd.add(a.equals("/model") ? (command.equals("generate-model") ? scratch() : model().toString()) : a);
        }
        if (SERVICES.contains(command)) {
            cmd.add("--dry-run");
        } else if (!command.equals("generate-model")) {
            throw new AssertionError(where + ": unexpected moe command '" + command + "' in " + args);
        }
        String key = cmd + " " + new TreeMap<>(env);
        synchronized (RESULTS) {
            if (RESULTS.containsKey(key)) {
                return;
            }
        }
        Processes.Result r = run(cmd, env);
        assertEquals(0, r.exitCode(), where + ": moe " + String.join(" ", cmd) + " rejected it:\n" + r.output());
        synchronized (RESULTS) {
            RESULTS.put(key, r.output());
        }
    }

    private static String scratch() {
        try {
            return Files.createTempDirectory(Path.of("target").toAbsolutePath(), "model-init")
                    .toString();
        } catch (IOException e) {
            throw new AssertionError("cannot create a scratch directory", e);
        }
    }

    private static Processes.Result run(List<String> args, Map<String, String> env) {
        List<String> cmd = new ArrayList<>(List.of(Repo.moe().toString()));
        cmd.addAll(args);
        Map<String, String> e = new HashMap<>(env);
        e.put("MOE_SKIP_BUILD", "1");
        e.put("MOE_JAVA_OPTS", "-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
        return Processes.run(Duration.ofMinutes(2), e, Repo.root(), cmd);
    }
}
