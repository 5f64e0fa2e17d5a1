package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class EmbeddedSchemaRegistryIT {

    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedSchemaRegistryIT.class);
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static final String V1 = "{\"type\":\"record\",\"name\":\"Probe\",\"namespace\":\"it\","
            + "\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";
    /** Adds a field without default: not BACKWARD compatible with V1. */
    private static final String V2_INCOMPATIBLE = "{\"type\":\"record\",\"name\":\"Probe\",\"namespace\":\"it\","
            + "\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\"}]}";
    /** Adds a field with default: BACKWARD compatible with V1. */
    private static final String V2_COMPATIBLE = "{\"type\":\"record\",\"name\":\"Probe\",\"namespace\":\"it\","
            + "\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"c\",\"type\":\"string\",\"default\":\"x\"}]}";

    @TempDir
    Path tmp;

    @Test
    void servesTheConfluentApiWithBackwardCompatibilityAndLeavesNoProcessAfterClose() throws Exception {
        // Given a started registry
        EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start();
        List<ProcessHandle> tree = new ArrayList<>();
        try {
            LOGGER.info("registry {} start-up: {} ms", registry.version(), registry.startupMillis());
            ProcessHandle jvm = ProcessHandle.of(registry.pid()).orElseThrow();
            tree.add(jvm);
            jvm.parent().ifPresent(tree::add);
            jvm.descendants().forEach(tree::add);
            assertTrue(registry.url().matches("http://127\\.0\\.0\\.1:\\d+/apis/ccompat/v7"), registry.url());

            // When subjects are listed and schemas registered
            HttpResponse<String> subjects = get(registry.url() + "/subjects");
            HttpResponse<String> first = register(registry.url(), "probe-value", V1);
            HttpResponse<String> again = register(registry.url(), "probe-value", V1);
            HttpResponse<String> incompatible = register(registry.url(), "probe-value", V2_INCOMPATIBLE);
            HttpResponse<String> compatible = register(registry.url(), "probe-value", V2_COMPATIBLE);

            // Then the API answers like a Confluent registry with BACKWARD as the global rule
            assertEquals(200, subjects.statusCode());
            assertEquals("[]", subjects.body().replace(" ", ""));
            assertEquals(200, first.statusCode(), first.body());
            assertEquals(first.body(), again.body(), "re-registering the same schema returns the same id");
            assertEquals(409, incompatible.statusCode(), incompatible.body());
            assertEquals(200, compatible.statusCode(), compatible.body());
            assertNotEquals(first.body(), compatible.body());
            assertTrue(get(registry.url() + "/subjects").body().contains("probe-value"));
            assertTrue(Files.isRegularFile(registry.logFile()));
        } finally {
            // When it is closed
            long t0 = System.nanoTime();
            registry.close();
            LOGGER.info("registry close: {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }

        // Then the registry JVM, its watchdog and everything below them are gone, with the log directory
        assertTrue(tree.size() >= 2, "expected registry JVM and watchdog, found " + tree);
        for (ProcessHandle handle : tree) {
            assertFalse(
                    handle.isAlive(),
                    "process " + handle.pid() + " " + handle.info().command() + " survived close()");
        }
        assertFalse(
                Files.exists(registry.logFile().getParent()), registry.logFile().getParent() + " still exists");
    }

    @Test
    void registryProcessDisappearsWhenItsParentJvmIsKilled() throws Exception {
        // Given a separate JVM that started a registry
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path childLog = tmp.resolve("child.log");
        Process parent = new ProcessBuilder(
                        java.toString(), "-Xmx256m", "-cp", classPath, RegistryChildMain.class.getName())
                .redirectError(childLog.toFile())
                .start();
        long registryPid;
        long watchdogPid;
        Path registryDir;
        String url;
        try {
            String line = readRegistryLine(parent, childLog);
            String[] parts = line.split(" ");
            registryPid = Long.parseLong(parts[1]);
            watchdogPid = Long.parseLong(parts[2]);
            url = parts[3];
            registryDir = Path.of(parts[4]).getParent();
            assertEquals(200, get(url + "/subjects").statusCode());
            assertTrue(ProcessHandle.of(registryPid).map(ProcessHandle::isAlive).orElse(false));
        } catch (Exception | Error e) {
            parent.destroyForcibly();
            throw e;
        }

        // When that JVM is killed with SIGKILL (no shutdown hooks run)
        parent.destroyForcibly();
        assertTrue(parent.waitFor(10, TimeUnit.SECONDS), "the parent JVM did not die");
        long killedAt = System.nanoTime();

        // Then the watchdog stops the registry within a few seconds and removes its directory
        long deadline = killedAt + TimeUnit.SECONDS.toNanos(20);
        while (isAlive(registryPid) || isAlive(watchdogPid) || Files.exists(registryDir)) {
            if (System.nanoTime() > deadline) {
                ProcessHandle.of(registryPid).ifPresent(ProcessHandle::destroyForcibly);
                ProcessHandle.of(watchdogPid).ifPresent(ProcessHandle::destroyForcibly);
                fail("registry pid " + registryPid + " alive=" + isAlive(registryPid) + ", watchdog pid "
                        + watchdogPid + " alive=" + isAlive(watchdogPid) + ", dir exists=" + Files.exists(registryDir)
                        + " 20 s after the parent JVM was killed");
            }
            Thread.onSpinWait();
            TimeUnit.MILLISECONDS.sleep(50); // polling interval of the condition, not a synchronisation
        }
        LOGGER.info(
                "orphaned registry gone {} ms after its parent JVM was killed",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt));
    }

    @Test
    void runsTheJava17LineOnAJava17Jdk() throws Exception {
        // Given a Java 17 JDK on this machine (the CI fallback when no Java 21+ is installed)
        Optional<ApicurioDistribution.Jdk> java17 = ApicurioDistribution.findJdks().stream()
                .filter(jdk -> jdk.feature() == 17)
                .findFirst();
        Assumptions.assumeTrue(java17.isPresent(), "no Java 17 JDK on this machine");
        String expectedVersion = ApicurioDistribution.versions().getProperty("apicurio.java17.version");

        // When the registry is started on it
        System.setProperty(
                ApicurioDistribution.JAVA_HOME_PROPERTY, java17.get().home().toString());
        EmbeddedSchemaRegistry registry;
        try {
            registry = EmbeddedSchemaRegistry.start();
        } finally {
            System.clearProperty(ApicurioDistribution.JAVA_HOME_PROPERTY);
        }
        try (registry) {
            LOGGER.info("registry {} on Java 17 start-up: {} ms", registry.version(), registry.startupMillis());

            // Then it is the Java 17 line, its JVM is that JDK's java, and it serves the Confluent API
            assertEquals(expectedVersion, registry.version());
            String command = ProcessHandle.of(registry.pid())
                    .flatMap(h -> h.info().command())
                    .orElse("");
            assertTrue(
                    Path.of(command).startsWith(java17.get().home()),
                    command + " not under " + java17.get().home());
            assertEquals(200, get(registry.url() + "/subjects").statusCode());
            HttpResponse<String> first = register(registry.url(), "j17-value", V1);
            assertEquals(200, first.statusCode(), first.body());
            assertEquals(
                    409, register(registry.url(), "j17-value", V2_INCOMPATIBLE).statusCode());
        }
    }

    private static boolean isAlive(long pid) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        return handle.isPresent() && handle.get().isAlive();
    }

    private static String readRegistryLine(Process parent, Path childLog) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("REGISTRY ")) {
                return line;
            }
        }
        throw new AssertionError(
                "the child JVM ended without starting a registry; its stderr:\n" + Files.readString(childLog));
    }

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(10))
                        .header("Accept", CONTENT_TYPE)
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> register(String base, String subject, String schema)
            throws IOException, InterruptedException {
        String body = "{\"schema\":\"" + schema.replace("\"", "\\\"") + "\"}";
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(base + "/subjects/" + subject + "/versions"))
                        .timeout(Duration.ofSeconds(10))
                        .header("Content-Type", CONTENT_TYPE)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
