package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.embedded.EmbeddedKafka;
import io.moestreams.embedded.SharedStack;
import io.moestreams.expert.ExpertConfig;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.gateway.TopicProvisioner;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.config.LayeredConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline on the secure embedded broker (SASL_SSL, SCRAM-SHA-512, ACLs denying by default) with the ACLs of
 * {@code moe acl}: every principal gets in with its own credentials, does its job, and is refused everything else.
 * Expert group {@code hot} serves expert 0, group {@code cold} experts 1-3.
 */
@Tag("integration")
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecurePipelineIT {

    private static final String HOT = AclPlan.EXPERT_USER_PREFIX + "hot";
    private static final String COLD = AclPlan.EXPERT_USER_PREFIX + "cold";
    private static final int HIDDEN = 16;

    @TempDir
    static Path dir;

    private static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    private static PrintStream originalErr;
    private static PrintStream originalOut;
    private static EmbeddedKafka kafka;
    private static String registry;
    private static Path model;
    private static final Topics TOPICS = new Topics();

    @BeforeAll
    static void startSecureBrokerAndApplyAcls() throws Exception {
        // every line logged or printed from here on is scanned for secrets by the last test
        originalErr = System.err;
        originalOut = System.out;
        System.setErr(new PrintStream(new Tee(originalErr, LOG), true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(new Tee(originalOut, LOG), true, StandardCharsets.UTF_8));
        registry = SharedStack.get().schemaRegistryUrl();
        model = dir.resolve("model");
        PipelineHarness.model(
                model,
                "mixtral",
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "silu",
                null,
                "none",
                HIDDEN,
                32,
                4,
                21);
        kafka = EmbeddedKafka.startSecure(List.of(AclPlan.GATEWAY_USER, AclPlan.CLIENT_USER, HOT, COLD));
        Map<String, Set<Integer>> groups = new LinkedHashMap<>();
        groups.put("hot", Set.of(0));
        groups.put("cold", Set.of(1, 2, 3));
        List<AclPlan.Grant> plan = AclPlan.build(
                new AclPlan.Naming(TOPICS, "moe-gateway", "moe-expert-"), 4, 0, groups, AclPlan.Principals.defaults());
        try (Admin admin = Admin.create(as(AclPlan.ADMIN_USER))) {
            AclCommand.apply(admin, plan);
            // the admin creates the topics (moe init-topics); the gateway may only describe them
            TopicProvisioner.ensure(admin, gatewayConfig(AclPlan.ADMIN_USER), TOPICS, 4, 0);
        }
    }

    @AfterAll
    static void stopBroker() {
        if (originalErr != null) {
            System.setErr(originalErr);
            System.setOut(originalOut);
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static Map<String, Object> as(String user) {
        Map<String, Object> p = new HashMap<>(kafka.security().clientProperties(user));
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        return p;
    }

    private static Map<String, String> settings(String user) {
        Map<String, String> s = new LinkedHashMap<>(kafka.security().clientProperties(user));
        s.put("moe.bootstrap-servers", kafka.bootstrapServers());
        s.put("moe.schema-registry-url", registry);
        s.put("moe.model-dir", model.toString());
        return s;
    }

    private static GatewayConfig gatewayConfig(String user) {
        return GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), null, Map.of(), settings(user)));
    }

    // ---------------------------------------------------------------------------------------------------------
    // denials

    /** The exception a consumer of {@code user} gets reading {@code topic}, in {@code group} (null: assign()). */
    private static Throwable readFailure(String user, String topic, String group) {
        Map<String, Object> p = as(user);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            if (group == null) {
                c.assign(List.of(new TopicPartition(topic, 0)));
            } else {
                c.subscribe(List.of(topic));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                try {
                    c.poll(Duration.ofMillis(500));
                } catch (KafkaException e) {
                    return e;
                }
                if (group != null && !c.assignment().isEmpty()) {
                    return null; // joined the group and owns partitions: allowed
                }
            }
        }
        return null;
    }

    private static Throwable writeFailure(String user, String topic) {
        Map<String, Object> p = as(user);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>(
                                    topic, "forged".getBytes(StandardCharsets.UTF_8), new byte[] {0, 0, 0, 0, 1}))
                            .get(30, TimeUnit.SECONDS),
                    user + " could write to " + topic);
            return e.getCause();
        } catch (KafkaException e) {
            return e;
        }
    }

    private static void assertTopicDenied(Throwable t, String what) {
        assertInstanceOf(TopicAuthorizationException.class, t, what + ": " + t);
    }

    @Test
    @Order(1)
    void anExpertGroupReadsItsOwnTopicInItsOwnGroupOnly() {
        // Given expert group hot (expert 0): it may consume expert 0's topic in consumer group moe-expert-0
        assertEquals(null, readFailure(HOT, TOPICS.expert(0), "moe-expert-0"), "hot reads expert.0");
        // Then it may not read the cold group's expert topics, nor join their consumer groups
        assertTopicDenied(readFailure(HOT, TOPICS.expert(1), null), "hot reads expert.1");
        assertTopicDenied(readFailure(COLD, TOPICS.expert(0), null), "cold reads expert.0");
        assertInstanceOf(GroupAuthorizationException.class, readFailure(HOT, TOPICS.expert(0), "moe-expert-1"));
        // nor the requests, the responses, the manifests or the other experts' results
        for (String user : List.of(HOT, COLD)) {
            assertTopicDenied(readFailure(user, TOPICS.requests(), null), user + " reads requests");
            assertTopicDenied(readFailure(user, TOPICS.responses(), null), user + " reads responses");
            assertTopicDenied(readFailure(user, TOPICS.manifests(), null), user + " reads manifests");
            assertTopicDenied(readFailure(user, TOPICS.expertResults(), null), user + " reads expert-results");
        }
    }

    @Test
    @Order(2)
    void anExpertGroupCannotForgeDispatchBlocksManifestsOrResponses() {
        for (String user : List.of(HOT, COLD)) {
            assertTopicDenied(writeFailure(user, TOPICS.manifests()), user + " writes manifests");
            assertTopicDenied(writeFailure(user, TOPICS.responses()), user + " writes responses");
            assertTopicDenied(writeFailure(user, TOPICS.requests()), user + " writes requests");
            assertTopicDenied(writeFailure(user, TOPICS.expert(2)), user + " writes expert.2");
        }
    }

    @Test
    @Order(3)
    void theClientCannotReadExpertTrafficNorForgeResultsOrManifests() {
        for (String topic : List.of(
                TOPICS.expert(0),
                TOPICS.expert(3),
                TOPICS.manifests(),
                TOPICS.expertResults(),
                TOPICS.requests(),
                TOPICS.deadLetter())) {
            assertTopicDenied(readFailure(AclPlan.CLIENT_USER, topic, null), "client reads " + topic);
        }
        for (String topic : List.of(
                TOPICS.expertResults(),
                TOPICS.manifests(),
                TOPICS.responses(),
                TOPICS.expert(0),
                TOPICS.deadLetter())) {
            assertTopicDenied(writeFailure(AclPlan.CLIENT_USER, topic), "client writes " + topic);
        }
    }

    @Test
    @Order(4)
    void theGatewayCannotReadExpertTopicsNorCreateTopics() throws Exception {
        assertTopicDenied(readFailure(AclPlan.GATEWAY_USER, TOPICS.expert(0), null), "gateway reads expert.0");
        assertTopicDenied(writeFailure(AclPlan.GATEWAY_USER, TOPICS.expertResults()), "gateway writes results");
        assertTopicDenied(writeFailure(AclPlan.GATEWAY_USER, TOPICS.requests()), "gateway writes requests");
        try (Admin admin = Admin.create(as(AclPlan.GATEWAY_USER))) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> admin.createTopics(List.of(new NewTopic(TOPICS.prefix() + "rogue", 1, (short) 1)))
                            .all()
                            .get(30, TimeUnit.SECONDS));
            assertTopicDenied(e.getCause(), "gateway creates a topic");
        }
        // and a gateway on a topic prefix whose topics nobody created says what to do
        Map<String, String> s = settings(AclPlan.GATEWAY_USER);
        s.put("moe.topic-prefix", "uncreated.");
        GatewayConfig other = GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), null, Map.of(), s));
        try (Admin admin = Admin.create(as(AclPlan.GATEWAY_USER))) {
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> TopicProvisioner.ensure(admin, other, new Topics("uncreated."), 4, 0));
            assertTrue(e.getMessage().contains("may not describe topic uncreated.requests"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // the pipeline with least privilege

    @Test
    @Order(10)
    void thePipelineWithLeastPrivilegeEqualsTheReference() throws Exception {
        // Given the gateway, two expert processes (hot: 0, cold: 1-3) and the client, each as its own principal
        List<RequestLine> lines = PipelineHarness.requests(dir, 40, HIDDEN, 1, 12, 8);
        List<LayerOutput> reference = PipelineHarness.reference(model, lines);
        Map<String, String> gatewayAuth = new LinkedHashMap<>(kafka.security().clientProperties(AclPlan.GATEWAY_USER));
        Map<String, InferenceClient.Answer> answers;
        try (LocalPipeline pipeline = LocalPipeline.start(
                model,
                kafka.bootstrapServers(),
                registry,
                TOPICS.prefix(),
                List.of(),
                gatewayAuth,
                Map.of(),
                new SimpleMeterRegistry())) {
            pipeline.startExperts("0", kafka.security().clientProperties(HOT));
            pipeline.startExperts("1-3", kafka.security().clientProperties(COLD));
            try (InferenceClient client = new InferenceClient(
                    kafka.bootstrapServers(),
                    registry,
                    TOPICS,
                    kafka.security().clientProperties(AclPlan.CLIENT_USER))) {
                // When the client sends its requests
                answers = client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(180), n -> {});
            }
        }
        // Then every response equals the reference
        assertEquals(lines.size(), answers.size());
        for (int i = 0; i < lines.size(); i++) {
            String id = lines.get(i).id();
            PipelineHarness.assertEqualsReference(
                    id, reference.get(i), Conversions.line(answers.get(id).response()));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // secrets

    @Test
    @Order(100)
    void noSecretAppearsInAnyLogLineOrToString() throws Exception {
        // Given every password of the broker's users, read from their property files
        List<String> secrets = new ArrayList<>();
        Pattern password = Pattern.compile("password=\"([^\"]+)\"");
        for (String user : kafka.security().users()) {
            Properties file = new Properties();
            try (Reader in = Files.newBufferedReader(kafka.security().propertiesFile(user))) {
                file.load(in);
            }
            Matcher m = password.matcher(file.getProperty("sasl.jaas.config"));
            assertTrue(m.find(), "no password in the property file of " + user);
            secrets.add(m.group(1));
        }
        assertEquals(kafka.security().users().size(), secrets.size());
        // When the configurations and clients of the services are printed
        StringBuilder printed = new StringBuilder();
        printed.append(gatewayConfig(AclPlan.GATEWAY_USER)).append('\n');
        Map<String, String> e = settings(HOT);
        e.put(ExpertConfig.EXPERTS, "0");
        printed.append(ExpertConfig.from(LayeredConfig.load(ExpertConfig.defaults(), null, Map.of(), e)))
                .append('\n');
        printed.append(kafka.security()).append('\n').append(kafka).append('\n');
        Map<String, Object> registryAuth = Map.of("basic.auth.user.info", "registry-user:" + secrets.get(0));
        printed.append(SchemaRegistryClient.create(registry, registryAuth)).append('\n');
        // Then neither they nor anything logged during this class (broker, services, denials) holds a password
        String log = LOG.toString(StandardCharsets.UTF_8);
        assertTrue(log.length() > 1000, "the log capture caught the run's log lines (" + log.length() + " chars)");
        for (String secret : secrets) {
            assertFalse(printed.toString().contains(secret), "a password appears in a toString()");
            assertFalse(log.contains(secret), "a password appears in the log");
        }
        assertFalse(log.contains("ScramLoginModule required"), "a JAAS line appears in the log");
    }

    /** Writes to two streams. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws IOException {
            a.write(c);
            synchronized (b) {
                b.write(c);
            }
        }

        @Override
        public void write(byte[] buf, int off, int len) throws IOException {
            a.write(buf, off, len);
            synchronized (b) {
                b.write(buf, off, len);
            }
        }
    }
}
