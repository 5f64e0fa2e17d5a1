package io.moestreams.deploy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The root docker-compose.yml (and overlays), brought up as its own project (unique name, its own volumes and network) with only
 * the images and the 127.0.0.1 host ports set through the file's variables.
 */
final class ComposeProject implements AutoCloseable {

    private final String name;
    private final List<Path> files;
    private final Map<String, String> env = new LinkedHashMap<>();

    ComposeProject(String name, Map<String, String> variables) {
        this(name, variables, "docker-compose.yml");
    }

    /** The project of the given compose files of the checkout, later ones overriding earlier ones. */
    ComposeProject(String name, Map<String, String> variables, String... composeFiles) {
        this.name = name;
        this.files =
                Arrays.stream(composeFiles).map(f -> Repo.root().resolve(f)).toList();
        env.putAll(variables);
    }

    /**
     * A project of a unique name ({@code prefix} + 8 random characters) of the checkout's {@code composeFiles} on
     * the local images (the stand-ins and this build's service image), each published port a free one of 127.0.0.1.
     */
    static ComposeProject onLocalImages(String prefix, String... composeFiles) {
        Map<String, String> vars = new LinkedHashMap<>();
        vars.put("KAFKA_IMAGE", DockerEngine.KAFKA_IMAGE);
        vars.put("REGISTRY_IMAGE", DockerEngine.REGISTRY_IMAGE);
        vars.put("MOE_IMAGE", DockerEngine.serviceImage());
        for (String port : List.of("KAFKA_PORT", "REGISTRY_PORT", "GATEWAY_METRICS_PORT")) {
            vars.put(port, Integer.toString(freePort()));
        }
        return new ComposeProject(prefix + UUID.randomUUID().toString().substring(0, 8), vars, composeFiles);
    }

    /** The broker's published listener, as the host reaches it. */
    String bootstrapServers() {
        return "127.0.0.1:" + env.get("KAFKA_PORT");
    }

    /** The registry's Confluent API, as the host reaches it. */
    String registryUrl() {
        return "http://127.0.0.1:" + env.get("REGISTRY_PORT") + "/apis/ccompat/v7";
    }

    /** Copies a directory out of a service's (first) container, also a stopped one-shot's, volumes included. */
    Path copyOut(String service, String dir, Path to) throws IOException {
        Files.createDirectories(to);
        docker(Duration.ofMinutes(2), "cp", containers(service).get(0) + ":" + dir + "/.", to.toString())
                .orFail();
        return to;
    }

    /** A free port on 127.0.0.1 for a published service. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port", e);
        }
    }

    String name() {
        return name;
    }

    String variable(String key) {
        return env.get(key);
    }

    Processes.Result compose(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of("docker-compose", "-p", name));
        for (Path file : files) {
            cmd.add("-f");
            cmd.add(file.toString());
        }
        cmd.addAll(Arrays.asList(args));
        return Processes.run(timeout, env, Repo.root(), cmd);
    }

    static Processes.Result docker(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of("docker"));
        cmd.addAll(Arrays.asList(args));
        return Processes.run(timeout, Map.of(), cmd);
    }

    /** Up in the background ({@code options}: more options of {@code up}, e.g. --scale); compose itself waits for each depends_on condition (healthy, completed). */
    void up(String... options) {
        List<String> args = new ArrayList<>(List.of("up", "-d"));
        args.addAll(Arrays.asList(options));
        compose(Duration.ofMinutes(10), args.toArray(new String[0])).orFail();
    }

    /** The ids of a service's containers (a scaled service has several). */
    List<String> containers(String service) {
        String out =
                compose(Duration.ofSeconds(60), "ps", "-q", service).orFail().output();
        return out.lines()
                .map(String::trim)
                .filter(l -> l.matches("[0-9a-f]{12,}"))
                .toList();
    }

    String state(String container) {
        return docker(
                        Duration.ofSeconds(30),
                        "inspect",
                        "-f",
                        "{{.State.Status}}/{{if .State.Health}}" + "{{.State.Health.Status}}{{end}}",
                        container)
                .orFail()
                .output()
                .trim();
    }

    /** Polls until every container of {@code service} reports healthy. */
    void awaitHealthy(String service, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> states = List.of();
        while (System.nanoTime() < deadline) {
            List<String> ids = containers(service);
            states = ids.stream().map(this::state).toList();
            if (!ids.isEmpty() && states.stream().allMatch(s -> s.equals("running/healthy"))) {
                return;
            }
            Thread.sleep(1000); // polling interval of a state we do not control
        }
        throw new AssertionError(service + " not healthy within " + timeout + ": " + states);
    }

    /** Polls until a killed container has stopped (docker kill returns before the process is gone). */
    void awaitStopped(String container, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!state(container).startsWith("running")) {
                return;
            }
            Thread.sleep(200); // polling interval of a state we do not control
        }
        throw new AssertionError(container + " still running " + timeout + " after the kill");
    }

    void saveLogs(Path file) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(
                    file,
                    compose(Duration.ofMinutes(2), "logs", "--no-color", "--timestamps")
                            .output(),
                    StandardCharsets.UTF_8);
        } catch (IOException | AssertionError e) {
            System.err.println("could not save the compose logs: " + e.getMessage());
        }
    }

    /** Saves the logs to {@code dir/compose-<name>.log}, then {@link #close()}s. */
    void closeSavingLogs(Path dir) {
        saveLogs(dir.resolve("compose-" + name + ".log"));
        close();
    }

    @Override
    public void close() {
        compose(Duration.ofMinutes(3), "down", "-v", "--remove-orphans", "-t", "5");
    }
}
