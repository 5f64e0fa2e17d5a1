package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The secure embedded broker: who gets in, and that a user with no ACL may do nothing. */
@Tag("integration")
@Timeout(600)
class SecureEmbeddedKafkaIT {

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.startSecure(List.of("alice", "bob"));
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static Map<String, Object> base() {
        Map<String, Object> p = new HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 8000);
        return p;
    }

    private static Map<String, Object> as(String user) {
        Map<String, Object> p = base();
        p.putAll(kafka.security().clientProperties(user));
        return p;
    }

    private static Throwable describeClusterFailure(Map<String, Object> config) {
        try (Admin admin = Admin.create(config)) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> admin.describeCluster().nodes().get(15, TimeUnit.SECONDS));
            return e.getCause();
        }
    }

    @Test
    void theAdminIsASuperUserAndItsPropertyFileWorksAsIs() throws Exception {
        // Given the admin's property file as written by the broker
        Properties file = new Properties();
        try (var in = Files.newInputStream(kafka.security().propertiesFile(BrokerSecurity.ADMIN_USER))) {
            file.load(in);
        }
        Map<String, Object> config = new HashMap<>();
        file.forEach((k, v) -> config.put((String) k, v));
        // Then it is readable by its owner only and names the listener, SASL_SSL and SCRAM-SHA-512
        assertEquals(
                Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                Files.getPosixFilePermissions(kafka.security().propertiesFile(BrokerSecurity.ADMIN_USER)));
        assertEquals(kafka.bootstrapServers(), config.get("bootstrap.servers"));
        assertEquals("SASL_SSL", config.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", config.get("sasl.mechanism"));
        // When the admin creates a topic with it, it succeeds
        try (Admin admin = Admin.create(config)) {
            admin.createTopics(List.of(new NewTopic("secure-admin-topic", 1, (short) 1)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
            assertTrue(admin.listTopics().names().get(10, TimeUnit.SECONDS).contains("secure-admin-topic"));
        }
    }

    @Test
    void aPlaintextClientIsRefused() {
        // Given a client that speaks PLAINTEXT to the SASL_SSL listener: it never completes a request
        Throwable cause = describeClusterFailure(base());
        assertInstanceOf(TimeoutException.class, cause, String.valueOf(cause));
    }

    @Test
    void aWrongPasswordIsRefused() {
        // Given alice's properties with another password
        Map<String, Object> config = as("alice");
        config.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" "
                        + "password=\"not-her-password\";");
        // Then authentication fails with SCRAM's error
        assertInstanceOf(SaslAuthenticationException.class, describeClusterFailure(config));
    }

    @Test
    void anUnknownUserIsRefused() {
        Map<String, Object> config = as("alice");
        config.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"mallory\" "
                        + "password=\"x\";");
        assertInstanceOf(SaslAuthenticationException.class, describeClusterFailure(config));
    }

    @Test
    void tlsWithoutTheBrokersCaIsRefused() {
        // Given alice's credentials but the JVM's default trust store (which does not know the embedded CA)
        Map<String, Object> config = as("alice");
        config.remove("ssl.truststore.type");
        config.remove("ssl.truststore.location");
        Throwable cause = describeClusterFailure(config);
        assertInstanceOf(SslAuthenticationException.class, cause, String.valueOf(cause));
    }

    @Test
    void aUserWithoutAclsMayNeitherCreateNorWriteTopics() throws Exception {
        // Given bob, authenticated but without any ACL, and a topic the admin created
        try (Admin admin = Admin.create(as(BrokerSecurity.ADMIN_USER))) {
            admin.createTopics(List.of(new NewTopic("secure-bob-topic", 1, (short) 1)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        }
        // When bob tries to create a topic, it is refused
        try (Admin admin = Admin.create(as("bob"))) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> admin.createTopics(List.of(new NewTopic("bob-made", 1, (short) 1)))
                            .all()
                            .get(15, TimeUnit.SECONDS));
            assertInstanceOf(TopicAuthorizationException.class, e.getCause());
            // and he does not even see the admin's topic
            assertFalse(admin.listTopics().names().get(10, TimeUnit.SECONDS).contains("secure-bob-topic"));
        }
        // When he writes to it, it is refused
        assertInstanceOf(TopicAuthorizationException.class, sendFailure("bob", "secure-bob-topic"));
    }

    @Test
    void writeOnATopicLetsAnIdempotentProducerWriteWithoutAClusterAcl() throws Exception {
        // Given alice with WRITE on one topic and nothing on the cluster (Kafka >= 2.8 implies IDEMPOTENT_WRITE)
        try (Admin admin = Admin.create(as(BrokerSecurity.ADMIN_USER))) {
            admin.createTopics(List.of(new NewTopic("secure-alice-topic", 1, (short) 1)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
            admin.createAcls(List.of(new AclBinding(
                            new ResourcePattern(ResourceType.TOPIC, "secure-alice-topic", PatternType.LITERAL),
                            new AccessControlEntry("User:alice", "*", AclOperation.WRITE, AclPermissionType.ALLOW))))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        }
        // When her idempotent producer sends, the record is acknowledged
        Map<String, Object> config = as("alice");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
            assertEquals(
                    0,
                    producer.send(new ProducerRecord<>("secure-alice-topic", "k", "v"))
                            .get(30, TimeUnit.SECONDS)
                            .offset());
        }
    }

    private static Throwable sendFailure(String user, String topic) {
        Map<String, Object> config = as(user);
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>(topic, "k", "v")).get(30, TimeUnit.SECONDS));
            return e.getCause();
        } catch (KafkaException e) {
            return e;
        }
    }
}
