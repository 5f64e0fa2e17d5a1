package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.schemas.config.ConfigException;
import io.moestreams.schemas.config.LayeredConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {

    private static Map<String, String> required() {
        Map<String, String> m = new HashMap<>();
        m.put(GatewayConfig.BOOTSTRAP, "broker:9092");
        m.put(GatewayConfig.REGISTRY, "http://registry:8080/apis/ccompat/v7");
        m.put(GatewayConfig.MODEL_DIR, "/models/tiny");
        return m;
    }

    private static GatewayConfig load(Path file, Map<String, String> env, Map<String, String> overrides) {
        return GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), file, env, overrides));
    }

    private static GatewayConfig withOverride(String key, String value) {
        Map<String, String> o = required();
        o.put(key, value);
        return load(null, Map.of(), o);
    }

    private static ConfigException badValue(String key, String value) {
        return assertThrows(ConfigException.class, () -> withOverride(key, value));
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
        }
    }

    @Test
    void requiredKeysAloneYieldTheDocumentedDefaults() {
        // Given only the required settings
        // When the config is built
        GatewayConfig c = load(null, Map.of(), required());

        // Then every other value is its default
        assertEquals("moe-gateway", c.applicationId());
        assertEquals("broker:9092", c.bootstrapServers());
        assertEquals("http://registry:8080/apis/ccompat/v7", c.schemaRegistryUrl());
        assertEquals("moe.", c.topicPrefix());
        assertEquals(Path.of("/models/tiny"), c.modelDir());
        assertEquals(2048, c.maxSeqLen());
        assertEquals(16 * 1024 * 1024, c.maxRequestBytes());
        assertEquals(Duration.ofSeconds(30), c.defaultTimeout());
        assertFalse(c.partialOnTimeout());
        assertEquals(65536, c.inFlightCreditTokens());
        assertEquals(4, c.defaultPartitions());
        assertEquals(Map.of(), c.expertPartitions());
        assertEquals(1, c.replicationFactor());
        assertEquals(Duration.ofHours(1), c.dedupeRetention());
        assertNull(c.stateDir());
        assertEquals(Map.of(), c.kafka());
    }

    @Test
    void eagerCommitsStopAtRecordsOlderThanTheLagBound() {
        // Given the defaults (eager commits, up to 200 ms of lag) and a config with eager commits off
        GatewayConfig eager = load(null, Map.of(), required());
        GatewayConfig off = withOverride(GatewayConfig.EAGER_COMMIT, "false");

        // When records that waited for different times are judged
        // Then only records that waited at most 200 ms are committed eagerly, and none with eager commits off
        assertEquals(Duration.ofMillis(200), eager.eagerCommitMaxLag());
        assertTrue(eager.commitEagerly(0));
        assertTrue(eager.commitEagerly(200));
        assertFalse(eager.commitEagerly(201));
        assertTrue(eager.commitEagerly(-200), "a record stamped by a clock ahead of ours is not a backlog");
        assertFalse(off.commitEagerly(0));
    }

    @Test
    void aNegativeEagerCommitLagIsRefusedNamingTheKey() {
        // Given a negative lag bound
        // When the config is built
        ConfigException e = badValue(GatewayConfig.EAGER_COMMIT_MAX_LAG_MS, "-1");

        // Then the error names the key
        assertMentions(e, GatewayConfig.EAGER_COMMIT_MAX_LAG_MS);
    }

    @Test
    void laterLayersWinDefaultsThenFileThenEnvThenOverrides(@TempDir Path dir) throws IOException {
        // Given a setting only in the file, one in file and env, and one in file, env and overrides
        Path file = dir.resolve("gateway.properties");
        Files.writeString(
                file,
                String.join(
                        "\n",
                        "moe.gateway.max-seq-len = 100",
                        "moe.gateway.max-request-bytes = 1000",
                        "moe.gateway.default-timeout-ms = 111",
                        ""),
                StandardCharsets.UTF_8);
        Map<String, String> env = Map.of(
                "MOE_GATEWAY_MAX_REQUEST_BYTES", "2000",
                "MOE_GATEWAY_DEFAULT_TIMEOUT_MS", "222");
        Map<String, String> overrides = required();
        overrides.put(GatewayConfig.DEFAULT_TIMEOUT_MS, "333");

        // When the layers are merged
        GatewayConfig c = load(file, env, overrides);

        // Then each value comes from the latest layer that sets it
        assertEquals(100, c.maxSeqLen());
        assertEquals(2000, c.maxRequestBytes());
        assertEquals(Duration.ofMillis(333), c.defaultTimeout());
        assertEquals(4, c.defaultPartitions());
    }

    @Test
    void environmentVariableNamesAreDerivedFromTheKeys() {
        // Given required settings and flags only in the environment
        Map<String, String> env = Map.of(
                "MOE_BOOTSTRAP_SERVERS", "env-broker:9092",
                "MOE_SCHEMA_REGISTRY_URL", "http://env-registry",
                "MOE_MODEL_DIR", "/env/model",
                "MOE_COMBINER_PARTIAL_ON_TIMEOUT", "true",
                "MOE_GATEWAY_STATE_DIR", "/var/state");

        // When the config is built without file or overrides
        GatewayConfig c = load(null, env, Map.of());

        // Then the environment supplied them
        assertEquals("env-broker:9092", c.bootstrapServers());
        assertEquals("http://env-registry", c.schemaRegistryUrl());
        assertEquals(Path.of("/env/model"), c.modelDir());
        assertTrue(c.partialOnTimeout());
        assertEquals(Path.of("/var/state"), c.stateDir());
    }

    @Test
    void nonMoeKeysPassThroughAsKafkaProperties(@TempDir Path dir) throws IOException {
        // Given Kafka client settings in the file and in KAFKA_* environment variables
        Path file = dir.resolve("gateway.properties");
        Files.writeString(
                file, "security.protocol=SASL_SSL\nssl.truststore.location=/etc/ts.jks\n", StandardCharsets.UTF_8);
        Map<String, String> env = Map.of("KAFKA_SASL_MECHANISM", "PLAIN", "UNRELATED_VAR", "x");

        // When the config is built
        GatewayConfig c = load(file, env, required());

        // Then exactly those reach the Kafka clients, unchanged, and no moe.* key does
        assertEquals(
                Map.of(
                        "security.protocol", "SASL_SSL",
                        "ssl.truststore.location", "/etc/ts.jks",
                        "sasl.mechanism", "PLAIN"),
                c.kafka());
    }

    @Test
    void unknownMoeKeyInTheFileIsAnErrorNamingTheKey(@TempDir Path dir) throws IOException {
        // Given a misspelt moe.* key in the file
        Path file = dir.resolve("gateway.properties");
        Files.writeString(file, "moe.gateway.max-seq-length=10\n", StandardCharsets.UTF_8);

        // When the config is loaded
        ConfigException e = assertThrows(ConfigException.class, () -> load(file, Map.of(), required()));

        // Then the error names the key and where it came from
        assertEquals("moe.gateway.max-seq-length", e.key());
        assertMentions(e, "moe.gateway.max-seq-length", "unknown", "config file");
    }

    @Test
    void unknownMoeKeyInTheOverridesIsAnErrorNamingTheKey() {
        // Given a misspelt override
        Map<String, String> o = required();
        o.put("moe.combiner.partial-on-timout", "true");

        // When the config is loaded
        ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), o));

        // Then the error names the key
        assertEquals("moe.combiner.partial-on-timout", e.key());
        assertMentions(e, "overrides");
    }

    @Test
    void missingRequiredSettingIsAnErrorNamingTheKeyAndItsEnvironmentVariable() {
        // Given no bootstrap servers
        Map<String, String> o = required();
        o.remove(GatewayConfig.BOOTSTRAP);

        // When the config is built
        ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), o));

        // Then the key and its variable are named
        assertEquals(GatewayConfig.BOOTSTRAP, e.key());
        assertMentions(e, "required", "MOE_BOOTSTRAP_SERVERS");
    }

    @Test
    void missingModelDirIsAnErrorNamingTheKey() {
        // Given no model directory
        Map<String, String> o = required();
        o.remove(GatewayConfig.MODEL_DIR);

        // When the config is built
        ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), o));

        // Then the key is named
        assertEquals(GatewayConfig.MODEL_DIR, e.key());
    }

    @Test
    void outOfRangeNumbersAreErrorsNamingTheKeyTheLimitAndTheValue() {
        // Given values below their limits
        // When each is loaded
        ConfigException seq = badValue(GatewayConfig.MAX_SEQ_LEN, "0");
        ConfigException bytes = badValue(GatewayConfig.MAX_REQUEST_BYTES, "63");
        ConfigException timeout = badValue(GatewayConfig.DEFAULT_TIMEOUT_MS, "0");
        ConfigException credit = badValue(GatewayConfig.INFLIGHT_CREDIT, "0");
        ConfigException partitions = badValue(GatewayConfig.PARTITIONS, "0");
        ConfigException replication = badValue(GatewayConfig.REPLICATION, "40000");

        // Then each error names its key, the accepted range and what was found
        assertEquals(GatewayConfig.MAX_SEQ_LEN, seq.key());
        assertMentions(seq, "[1, " + (1 << 20) + "]", "found 0");
        assertEquals(GatewayConfig.MAX_REQUEST_BYTES, bytes.key());
        assertMentions(bytes, "[64, ", "found 63");
        assertEquals(GatewayConfig.DEFAULT_TIMEOUT_MS, timeout.key());
        assertMentions(timeout, "[1, ", "found 0");
        assertEquals(GatewayConfig.INFLIGHT_CREDIT, credit.key());
        assertMentions(credit, "[1, ", "found 0");
        assertEquals(GatewayConfig.PARTITIONS, partitions.key());
        assertMentions(partitions, "[1, 10000]", "found 0");
        assertEquals(GatewayConfig.REPLICATION, replication.key());
        assertMentions(replication, "[1, 32767]", "found 40000");
    }

    @Test
    void nonNumbersAndNonBooleansAreErrorsNamingTheKeyAndTheValue() {
        // Given unparsable values
        // When each is loaded
        ConfigException seq = badValue(GatewayConfig.MAX_SEQ_LEN, "lots");
        ConfigException retention = badValue(GatewayConfig.DEDUPE_RETENTION_MS, "1h");
        ConfigException partial = badValue(GatewayConfig.PARTIAL_ON_TIMEOUT, "yes");

        // Then the key and the offending value are named
        assertEquals(GatewayConfig.MAX_SEQ_LEN, seq.key());
        assertMentions(seq, "expected an integer", "'lots'");
        assertEquals(GatewayConfig.DEDUPE_RETENTION_MS, retention.key());
        assertMentions(retention, "'1h'");
        assertEquals(GatewayConfig.PARTIAL_ON_TIMEOUT, partial.key());
        assertMentions(partial, "true or false", "'yes'");
    }

    @Test
    void expertPartitionsAreParsedAndOverrideTheDefaultPerExpert() {
        // Given hot experts 3 and 5 with more partitions, spaces and an empty item included
        // When the config is built
        GatewayConfig c = withOverride(GatewayConfig.EXPERT_PARTITIONS, " 3:8 , 5:4,");

        // Then those experts get theirs and every other expert the default
        assertEquals(Map.of(3, 8, 5, 4), c.expertPartitions());
        assertEquals(8, c.partitionsOf(3));
        assertEquals(4, c.partitionsOf(5));
        assertEquals(c.defaultPartitions(), c.partitionsOf(0));
    }

    @Test
    void malformedExpertPartitionsAreErrorsNamingTheKey() {
        // Given malformed lists: wrong separator, zero partitions, negative expert, not a number
        for (String bad : new String[] {"3-8", "3:0", "-1:2", "three:2", "3:8:1"}) {
            // When loaded
            ConfigException e = badValue(GatewayConfig.EXPERT_PARTITIONS, bad);

            // Then the key, the expected form and the value are named
            assertEquals(GatewayConfig.EXPERT_PARTITIONS, e.key(), bad);
            assertMentions(e, "3:8,5:4", "'" + bad + "'");
        }
    }

    @Test
    void configRecordIsImmutable() {
        // Given a config with expert partitions and Kafka settings
        Map<String, String> o = required();
        o.put(GatewayConfig.EXPERT_PARTITIONS, "1:2");
        GatewayConfig c = load(null, Map.of("KAFKA_CLIENT_ID", "gw"), o);

        // When its maps are modified
        // Then that is refused
        assertThrows(
                UnsupportedOperationException.class, () -> c.expertPartitions().put(2, 2));
        assertThrows(UnsupportedOperationException.class, () -> c.kafka().put("acks", "all"));
    }

    @Test
    void toStringPrintsKafkaKeysButNeverTheirValues() {
        // Given a SASL secret among the Kafka properties / When the config is printed
        GatewayConfig c = withOverride("sasl.jaas.config", "PlainLoginModule required password=\"s3cret\";");

        // Then the key shows and the secret does not
        Assertions.assertTrue(c.toString().contains("sasl.jaas.config"), c.toString());
        Assertions.assertFalse(c.toString().contains("s3cret"), c.toString());
    }

    @Test
    void maxTimeoutBelowTheDefaultTimeoutIsRejected() {
        // Given a maximum shorter than the default / When loaded / Then the key and the bound are named
        ConfigException e = badValue(GatewayConfig.MAX_TIMEOUT_MS, "1000");
        assertMentions(e, GatewayConfig.MAX_TIMEOUT_MS, GatewayConfig.DEFAULT_TIMEOUT_MS, "30000");
    }
}
