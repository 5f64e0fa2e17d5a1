package io.moestreams.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The root docker-compose.yml on a real Docker engine, as a user runs it (only the images and host ports are set
 * through its variables: local stand-ins for apache/kafka and apicurio/apicurio-registry, and this build's
 * service image). {@code ./moe infer} against the stack must equal {@code ./moe reference}, also when an expert
 * container or the broker container is killed mid-run; every request gets exactly one response.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ComposeStackIT {

    private static final int HIDDEN = 64;
    /** Requests of a run with a kill: enough that most of them are answered after the kill. */
    private static final int RUN = 400;

    private static final Path WORK = Path.of("target", "compose-it").toAbsolutePath();

    private static ComposeProject stack;
    private static Path model;
    private static String bootstrap;
    private static String registry;

    @BeforeAll
    static void upTheStack() throws Exception {
        DockerEngine.assumeAvailable();
        Files.createDirectories(WORK);
        stack = ComposeProject.onLocalImages("moeit", "docker-compose.yml");
        long t0 = System.nanoTime();
        stack.up();
        for (String service : List.of("gateway", "expert-hot", "experts-cold")) {
            stack.awaitHealthy(service, Duration.ofMinutes(5));
        }
        System.err.printf("compose IT: stack %s up and healthy in %.0f s%n", stack.name(), secondsSince(t0));
        bootstrap = stack.bootstrapServers();
        registry = stack.registryUrl();
        // The model the stack serves: model-init generated it into the `model` volume.
        model = stack.copyOut("model-init", "/model", WORK.resolve("model"));
    }

    @AfterAll
    static void downTheStack() {
        if (stack != null) {
            stack.closeSavingLogs(WORK);
        }
    }

    @Test
    @Order(1)
    void inferAgainstTheStackEqualsTheReference() throws Exception {
        // Given requests and the reference answers computed in-process
        Path in = requests("plain", 60, 1);
        Path reference = reference(in);

        // When they go through the compose stack
        Path out = WORK.resolve("plain.out.jsonl");
        Process infer = infer(in, out);
        assertEquals(0, waitFor(infer, out), "moe infer exit status");

        // Then every answer equals the reference and every request got exactly one response
        assertSameAnswers(reference, out);
        assertOneResponseEach("plain-", 60);
    }

    @Test
    @Order(2)
    void killingAHotExpertReplicaMidRunLosesAndDuplicatesNothing() throws Exception {
        // Given a run in progress
        Path in = requests("expert-kill", RUN, 2);
        Path reference = reference(in);
        Path out = WORK.resolve("expert-kill.out.jsonl");
        String victim = stack.containers("expert-hot").get(0);
        long killedAt;
        Process infer;
        try (ResponseWatcher watcher = new ResponseWatcher(bootstrap, registry, "expert-kill-")) {
            infer = infer(in, out);
            watcher.await(3, Duration.ofMinutes(3));

            // When one replica of the hot expert is killed (SIGKILL, no drain) mid-run, then started again
            killedAt = System.currentTimeMillis();
            ComposeProject.docker(Duration.ofSeconds(30), "kill", victim).orFail();
            assertMidRun(watcher.poll(Duration.ofMillis(1)), "expert container killed");
            stack.awaitStopped(victim, Duration.ofSeconds(30));
            watcher.await(Math.min(RUN, watcher.poll(Duration.ofMillis(1)) + 20), Duration.ofMinutes(3));
        }
        ComposeProject.docker(Duration.ofSeconds(60), "start", victim).orFail();
        System.err.printf(
                "compose IT: expert %s killed and restarted %.1f s later%n",
                victim.substring(0, 12), (System.currentTimeMillis() - killedAt) / 1e3);

        // Then the run completes with the reference's answers, one response per request
        assertEquals(0, waitFor(infer, out), "moe infer exit status");
        assertSameAnswers(reference, out);
        assertOneResponseEach("expert-kill-", RUN);
        stack.awaitHealthy("expert-hot", Duration.ofMinutes(3));
    }

    @Test
    @Order(3)
    void killingTheBrokerMidRunLosesAndDuplicatesNothing() throws Exception {
        // Given a run in progress
        Path in = requests("broker-kill", RUN, 3);
        Path reference = reference(in);
        Path out = WORK.resolve("broker-kill.out.jsonl");
        String broker = stack.containers("kafka").get(0);
        Process infer;
        try (ResponseWatcher watcher = new ResponseWatcher(bootstrap, registry, "broker-kill-")) {
            infer = infer(in, out);
            watcher.await(3, Duration.ofMinutes(3));
            assertMidRun(watcher.poll(Duration.ofMillis(1)), "broker container about to be killed");
        }

        // When the broker container is killed mid-run and started again on its volume
        long killedAt = System.currentTimeMillis();
        ComposeProject.docker(Duration.ofSeconds(30), "kill", broker).orFail();
        stack.awaitStopped(broker, Duration.ofSeconds(30));
        ComposeProject.docker(Duration.ofSeconds(60), "start", broker).orFail();
        stack.awaitHealthy("kafka", Duration.ofMinutes(3));
        System.err.printf(
                "compose IT: broker killed, healthy again %.1f s later%n",
                (System.currentTimeMillis() - killedAt) / 1e3);

        // Then the run completes with the reference's answers, one response per request
        assertEquals(0, waitFor(infer, out), "moe infer exit status");
        assertSameAnswers(reference, out);
        assertOneResponseEach("broker-kill-", RUN);
    }

    @Test
    @Order(4)
    void theDashboardQueriesMetricsTheServicesExport() throws Exception {
        // Given the metrics the gateway and an expert export after the runs above
        String gateway = scrape(stack.containers("gateway").get(0));
        String expert = scrape(stack.containers("expert-hot").get(0));

        // Then every metric the provisioned Grafana dashboard queries is among them
        JsonNode dashboard = KubernetesManifests.JSON.readTree(Repo.root()
                .resolve("docker/grafana/dashboards/moe-streams.json")
                .toFile());
        Set<String> queried = new TreeSet<>();
        Matcher m = Pattern.compile("\\b(moe_[a-z_]+)").matcher(dashboard.toString());
        while (m.find()) {
            queried.add(m.group(1));
        }
        assertTrue(queried.size() >= 8, "metrics queried: " + queried);
        for (String metric : queried) {
            assertTrue(
                    gateway.contains("\n" + metric) || expert.contains("\n" + metric),
                    "the dashboard queries " + metric + ", which no service exports");
        }
    }

    /** GET /metrics inside a container (its port is not published), with plain bash as the healthchecks do. */
    private static String scrape(String container) {
        return ComposeProject.docker(
                        Duration.ofSeconds(30),
                        "exec",
                        container,
                        "bash",
                        "-c",
                        "exec 3<>/dev/tcp/127.0.0.1/9400 && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3")
                .orFail()
                .output();
    }

    // ---- helpers

    private static Path requests(String name, int count, long seed) throws IOException {
        return InferenceRuns.requests(WORK, name, count, seed, HIDDEN);
    }

    private static Path reference(Path in) {
        return InferenceRuns.reference(model, in);
    }

    private static Process infer(Path in, Path out) throws IOException {
        // a request waits out a broker restart (slow on a loaded machine) instead of timing out
        return InferenceRuns.infer(bootstrap, registry, model, in, out, "--timeout-s", "600", "--deadline-s", "480");
    }

    private static int waitFor(Process infer, Path out) throws Exception {
        return InferenceRuns.waitFor(infer, out, "compose IT");
    }

    private static void assertSameAnswers(Path reference, Path out) throws IOException {
        InferenceRuns.assertSameAnswers(reference, out);
    }

    /** Reads the committed responses topic from the start: exactly one response per request of the run. */
    private static void assertOneResponseEach(String prefix, int count) {
        Map<String, Integer> perId = responses(prefix, count, Duration.ofSeconds(60), true);
        assertEquals(count, perId.size(), "requests of " + prefix + "* answered");
        perId.forEach((id, n) -> assertEquals(1, n, "responses to " + id));
    }

    /**
     * The kill happens mid-run: fewer than half the run's requests have their (committed) response at that point,
     * so most of the run goes through the failure and the recovery.
     */
    private static void assertMidRun(int answered, String what) {
        System.err.printf("compose IT: %s with %d of %d requests answered%n", what, answered, RUN);
        assertTrue(answered < RUN / 2, what + " after " + answered + " of " + RUN + " answers: not mid-run");
    }

    /**
     * Responses per request id (of ids with {@code prefix}), read until {@code count} ids were seen (and, with
     * {@code drain}, the topic has nothing more to give) or the timeout.
     */
    private static Map<String, Integer> responses(String prefix, int count, Duration timeout, boolean drain) {
        TypedTopics typed = new TypedTopics(new Topics(), new SchemaRegistryClient(registry));
        Map<String, Object> props = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG,
                "compose-it-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false);
        Map<String, Integer> perId = new HashMap<>();
        try (KafkaConsumer<String, InferenceResponse> consumer = new KafkaConsumer<>(
                props, new StringDeserializer(), typed.responses().valueSerde().deserializer())) {
            consumer.subscribe(List.of(typed.names().responses()));
            long deadline = System.nanoTime() + timeout.toNanos();
            int quietPolls = 0;
            while (System.nanoTime() < deadline) {
                int n = 0;
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(500))) {
                    n++;
                    String id = r.value().getRequestId().toString();
                    if (id.startsWith(prefix)) {
                        perId.merge(id, 1, Integer::sum);
                    }
                }
                quietPolls = n == 0 ? quietPolls + 1 : 0;
                // every id seen and the topic drained (a duplicate would be a later record)
                if (perId.size() >= count && (!drain || quietPolls >= 4)) {
                    break;
                }
            }
        }
        return perId;
    }

    private static double secondsSince(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
