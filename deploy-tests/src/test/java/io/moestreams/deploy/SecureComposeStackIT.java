package io.moestreams.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.schemas.Topics;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * docker-compose.yml with the docker-compose.secure.yml overlay on a real Docker engine: SASL_SSL with SCRAM users
 * and ACLs, every role its own principal from its own volume. The client's property file (copied out of its volume)
 * gets the reference's answers; no credentials or a wrong password are refused; an expert's principal may not read
 * the requests. The hot expert runs one replica (the overlay is unchanged, only {@code --scale}) to keep it small.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SecureComposeStackIT {

    private static final int HIDDEN = 64;
    private static final Path WORK = Path.of("target", "secure-compose-it").toAbsolutePath();

    private static ComposeProject stack;
    private static Path model;
    private static Path secrets;
    private static String bootstrap;
    private static String registry;

    @BeforeAll
    static void upTheSecureStack() throws Exception {
        DockerEngine.assumeAvailable();
        Files.createDirectories(WORK);
        stack = ComposeProject.onLocalImages("moesec", "docker-compose.yml", "docker-compose.secure.yml");
        long t0 = System.nanoTime();
        stack.up("--scale", "expert-hot=1");
        for (String service : List.of("gateway", "expert-hot", "experts-cold")) {
            stack.awaitHealthy(service, Duration.ofMinutes(5));
        }
        System.err.printf(
                "secure compose IT: stack %s up and healthy in %.0f s%n", stack.name(), (System.nanoTime() - t0) / 1e9);
        bootstrap = stack.bootstrapServers();
        registry = stack.registryUrl();
        model = stack.copyOut("model-init", "/model", WORK.resolve("model"));
        secrets = WORK.resolve("secrets-" + stack.name());
        stack.copyOut("secrets-init", "/secrets/client", secrets.resolve("client"));
        stack.copyOut("secrets-init", "/secrets/expert-hot", secrets.resolve("expert-hot"));
    }

    @AfterAll
    static void downTheStack() {
        if (stack != null) {
            stack.closeSavingLogs(WORK);
        }
    }

    @Test
    void theClientPrincipalsPropertyFileGetsTheReferenceAnswers() throws Exception {
        // Given requests and the reference answers computed in-process
        Path in = InferenceRuns.requests(WORK, "secure", 40, 7, HIDDEN);
        Path reference = InferenceRuns.reference(model, in);

        // When they go through the secure stack with the client's own property file, as it lies in its volume
        Path out = WORK.resolve("secure.out.jsonl");
        Process infer = InferenceRuns.infer(
                bootstrap,
                registry,
                model,
                in,
                out,
                "--config",
                secrets.resolve("client/moe-client.properties").toString(),
                "--timeout-s",
                "300");

        // Then every answer equals the reference
        assertEquals(0, InferenceRuns.waitFor(infer, out, "secure compose IT"), "moe infer exit status");
        InferenceRuns.assertSameAnswers(reference, out);
    }

    @Test
    void aConnectionWithoutCredentialsIsRefused() throws Exception {
        // Given TLS with the stack's CA but no SASL login
        Map<String, Object> config = properties("client/moe-client.properties");
        config.put("security.protocol", "SSL");
        config.remove("sasl.mechanism");
        config.remove("sasl.jaas.config");

        // Then the broker never answers a request
        assertInstanceOf(TimeoutException.class, describeClusterFailure(config));
    }

    @Test
    void aWrongPasswordIsRefused() throws Exception {
        // Given the client's property file with another password
        Map<String, Object> config = properties("client/moe-client.properties");
        config.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"moe-client\" "
                        + "password=\"not-the-password\";");

        // Then SCRAM authentication fails
        assertInstanceOf(SaslAuthenticationException.class, describeClusterFailure(config));
    }

    @Test
    void anExpertPrincipalCannotReadTheRequests() throws Exception {
        // Given the hot expert's own property file, which signs in
        Map<String, Object> config = properties("expert-hot/moe-expert-hot.properties");
        try (Admin admin = Admin.create(config)) {
            assertTrue(admin.describeCluster().clusterId().get(60, TimeUnit.SECONDS) != null);
        }

        // When it reads the requests topic
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(new TopicPartition(new Topics().requests(), 0)));

            // Then the broker refuses it
            TopicAuthorizationException e =
                    assertThrows(TopicAuthorizationException.class, () -> consumer.poll(Duration.ofSeconds(30)));
            assertTrue(e.unauthorizedTopics().contains(new Topics().requests()), e.getMessage());
        }
    }

    /** The failure of a describe-cluster call (short timeouts: a refused client never gets an answer). */
    private static Throwable describeClusterFailure(Map<String, Object> config) {
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_500);
        try (Admin admin = Admin.create(config)) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS));
            return e.getCause();
        }
    }

    /** A principal's property file from its volume, pointed at the published port. */
    private static Map<String, Object> properties(String file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(secrets.resolve(file), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        Map<String, Object> config = new HashMap<>();
        p.stringPropertyNames().forEach(k -> config.put(k, p.getProperty(k)));
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return config;
    }
}
