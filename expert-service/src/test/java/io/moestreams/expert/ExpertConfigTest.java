package io.moestreams.expert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DType;
import io.moestreams.schemas.config.ConfigException;
import io.moestreams.schemas.config.LayeredConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExpertConfigTest {

    @TempDir
    Path dir;

    /** The settings every valid configuration needs, as command-line overrides. */
    private static Map<String, String> required() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(ExpertConfig.BOOTSTRAP, "broker:9092");
        m.put(ExpertConfig.REGISTRY, "http://registry:8080/apis/ccompat/v7");
        m.put(ExpertConfig.MODEL_DIR, "/models/tiny");
        m.put(ExpertConfig.EXPERTS, "0,1");
        return m;
    }

    private static ExpertConfig load(Path file, Map<String, String> env, Map<String, String> overrides) {
        return ExpertConfig.from(LayeredConfig.load(ExpertConfig.defaults(), file, env, overrides));
    }

    private static ExpertConfig direct(Set<Integer> experts, int maxBatchTokens, Duration maxBatchWait) {
        return new ExpertConfig(
                "b:9092",
                "http://r",
                "moe.",
                Path.of("/m"),
                experts,
                Set.of(),
                false,
                "g-",
                maxBatchTokens,
                maxBatchWait,
                "w",
                true,
                Duration.ZERO,
                DType.F32,
                Map.of(),
                null);
    }

    private static void assertNamesKey(ConfigException e, String key, String... fragments) {
        assertEquals(key, e.key(), e.getMessage());
        assertTrue(e.getMessage().contains(key), "message should name " + key + ": " + e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should contain '" + f + "': " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- parseExperts

    @Test
    void parsesASingleExpertId() {
        // Given a single id / When parsed / Then it is the only expert
        assertEquals(Set.of(3), ExpertConfig.parseExperts("3"));
    }

    @Test
    void parsesACommaSeparatedListIgnoringBlanksAroundIds() {
        // Given a list with spaces / When parsed / Then every id is there once
        assertEquals(Set.of(0, 1, 5), ExpertConfig.parseExperts("0, 1,5"));
        assertEquals(Set.of(0, 1, 5), ExpertConfig.parseExperts("5,1,0,1"));
    }

    @Test
    void parsesRangesInclusiveAndMixedWithIds() {
        // Given ranges / When parsed / Then both ends are included
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6, 7), ExpertConfig.parseExperts("0-7"));
        assertEquals(Set.of(2, 3, 4, 9), ExpertConfig.parseExperts("2-4,9"));
        assertEquals(Set.of(6), ExpertConfig.parseExperts("6-6"));
    }

    @Test
    void parsesSharedExpertsApartFromRoutedOnes() {
        // Given specs naming shared experts / When parsed / Then routed and shared ids are apart
        assertEquals(Set.of(0, 1, 2, 3), ExpertConfig.parseExperts("0-3,s0"));
        assertEquals(Set.of(0), ExpertConfig.parseShared("0-3,s0"));
        assertEquals(Set.of(1, 2), ExpertConfig.parseShared("S2, s1"));
        assertFalse(ExpertConfig.allShared("0-3,s0"));
        assertTrue(ExpertConfig.allShared("4-7,shared"));
        assertEquals(Set.of(), ExpertConfig.parseShared("shared"));
    }

    @Test
    void aConfigServingOnlySharedExpertsIsValidAndNamesThem() {
        // Given only the shared experts / When loaded / Then nothing routed, every shared expert
        Map<String, String> o = required();
        o.put(ExpertConfig.EXPERTS, "shared");
        ExpertConfig c = load(null, Map.of(), o);
        assertTrue(c.experts().isEmpty());
        assertTrue(c.allSharedExperts());
        assertTrue(c.toString().contains("sharedExperts=all"), c.toString());
    }

    @Test
    void aMalformedSharedIdNamesTheKeyAndTheSyntax() {
        ConfigException e = assertThrows(ConfigException.class, () -> ExpertConfig.parseShared("0,sx"));
        assertNamesKey(e, ExpertConfig.EXPERTS, "0-3,s0", "'0,sx'");
    }

    @Test
    void parsesNothingFromABlankSpec() {
        // Given no spec / When parsed / Then the set is empty (the constructor reports the missing key)
        assertTrue(ExpertConfig.parseExperts(null).isEmpty());
        assertTrue(ExpertConfig.parseExperts("  ").isEmpty());
    }

    @Test
    void rejectsMalformedSpecsNamingTheExpertsKeyAndTheSpec() {
        // Given specs that are not ids / When parsed / Then the error names moe.expert.experts and the input
        for (String bad : List.of("a", "1,,2", "3-", "7-3", "1.5", "0-x", "1;2")) {
            ConfigException e = assertThrows(ConfigException.class, () -> ExpertConfig.parseExperts(bad), bad);
            assertNamesKey(e, ExpertConfig.EXPERTS, "'" + bad + "'");
        }
    }

    // ---------------------------------------------------------------- layering

    @Test
    void appliesDefaultsWhenOnlyRequiredKeysAreSet() {
        // Given only the required settings
        // When the configuration is loaded
        ExpertConfig c = load(null, Map.of(), required());

        // Then the documented defaults apply and a worker id is generated
        assertEquals("moe.", c.topicPrefix());
        assertEquals("moe-expert-", c.groupPrefix());
        assertEquals(512, c.maxBatchTokens());
        assertEquals(Duration.ZERO, c.maxBatchWait());
        assertEquals(Set.of(0, 1), c.experts());
        assertEquals(Path.of("/models/tiny"), c.modelDir());
        assertTrue(c.workerId().startsWith("worker-"), c.workerId());
        assertFalse(c.stableIdentity(), "a generated worker id is not a stable identity");
        assertTrue(c.kafka().isEmpty(), c.kafka().toString());
        assertNotEquals(c.workerId(), load(null, Map.of(), required()).workerId(), "generated ids must differ");
    }

    @Test
    void laterLayersWinDefaultsThenFileThenEnvThenOverrides() throws Exception {
        // Given the same keys set on several layers
        Path file = dir.resolve("expert.properties");
        Files.writeString(
                file,
                String.join(
                        "\n",
                        ExpertConfig.BOOTSTRAP + "=file:9092",
                        ExpertConfig.REGISTRY + "=http://file-registry",
                        ExpertConfig.MODEL_DIR + "=/from/file",
                        ExpertConfig.EXPERTS + "=0-3",
                        ExpertConfig.TOPIC_PREFIX + "=file.",
                        ExpertConfig.GROUP_PREFIX + "=file-group-",
                        ExpertConfig.MAX_BATCH_TOKENS + "=64",
                        ExpertConfig.MAX_BATCH_WAIT_MS + "=7",
                        ExpertConfig.WORKER_ID + "=file-worker"));
        Map<String, String> env = Map.of(
                "MOE_TOPIC_PREFIX", "env.",
                "MOE_EXPERT_MAX_BATCH_TOKENS", "128",
                "MOE_EXPERT_WORKER_ID", "env-worker");
        Map<String, String> overrides = Map.of(ExpertConfig.WORKER_ID, "cli-worker");

        // When loaded
        ExpertConfig c = load(file, env, overrides);

        // Then each value comes from the last layer that set it
        assertEquals("file:9092", c.bootstrapServers());
        assertEquals("http://file-registry", c.schemaRegistryUrl());
        assertEquals(Path.of("/from/file"), c.modelDir());
        assertEquals(Set.of(0, 1, 2, 3), c.experts());
        assertEquals("file-group-", c.groupPrefix());
        assertEquals(Duration.ofMillis(7), c.maxBatchWait());
        assertEquals("env.", c.topicPrefix());
        assertEquals(128, c.maxBatchTokens());
        assertEquals("cli-worker", c.workerId());
    }

    @Test
    void passesNonMoeKeysThroughAsKafkaProperties() throws Exception {
        // Given Kafka client properties in the file and as KAFKA_* environment variables
        Path file = dir.resolve("kafka.properties");
        Files.writeString(file, "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nmax.poll.records=100\n");
        Map<String, String> env = Map.of("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "UNRELATED", "x");

        // When loaded
        ExpertConfig c = load(file, env, required());

        // Then they pass through unchanged (env wins over the file) and no moe.* key leaks into them
        assertEquals(
                Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512", "max.poll.records", "100"),
                c.kafka());
        assertFalse(
                c.kafka().keySet().stream().anyMatch(k -> k.startsWith("moe.")),
                c.kafka().toString());
    }

    @Test
    void rejectsAnUnknownMoeKeyInTheFileNamingIt() throws Exception {
        // Given a misspelt moe.* key in the file
        Path file = dir.resolve("typo.properties");
        Files.writeString(file, "moe.expert.max-batch-token=64\n");

        // When loaded / Then the error names the key
        ConfigException e = assertThrows(ConfigException.class, () -> load(file, Map.of(), required()));
        assertNamesKey(e, "moe.expert.max-batch-token", "unknown");
    }

    @Test
    void rejectsAnUnknownMoeKeyInTheOverridesNamingIt() {
        // Given an unknown moe.* override
        Map<String, String> overrides = required();
        overrides.put("moe.expert.expertz", "1");

        // When loaded / Then the error names the key
        ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), overrides));
        assertNamesKey(e, "moe.expert.expertz", "unknown");
    }

    // ---------------------------------------------------------------- required keys

    @Test
    void requiresEachMandatoryKeyNamingIt() {
        for (String key :
                List.of(ExpertConfig.BOOTSTRAP, ExpertConfig.REGISTRY, ExpertConfig.MODEL_DIR, ExpertConfig.EXPERTS)) {
            // Given every required key but one
            Map<String, String> overrides = required();
            overrides.remove(key);

            // When loaded / Then the error names the missing key
            ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), overrides), key);
            assertNamesKey(e, key, "required");
        }
    }

    @Test
    void missingConnectionKeyTellsWhichEnvironmentVariableSetsIt() {
        // Given no bootstrap servers
        Map<String, String> overrides = required();
        overrides.remove(ExpertConfig.BOOTSTRAP);

        // When loaded / Then the message names the environment variable too
        ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), overrides));
        assertNamesKey(e, ExpertConfig.BOOTSTRAP, "MOE_BOOTSTRAP_SERVERS");
    }

    @Test
    void blankRequiredValueCountsAsMissing() {
        // Given a blank registry URL / When loaded / Then it is reported as required
        Map<String, String> overrides = required();
        overrides.put(ExpertConfig.REGISTRY, "   ");
        ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), overrides));
        assertNamesKey(e, ExpertConfig.REGISTRY, "required");
    }

    // ---------------------------------------------------------------- validation

    @Test
    void rejectsBatchTokensOutsideItsRangeNamingKeyAndLimits() {
        for (String bad : List.of("0", "-5", "1048577", "many")) {
            // Given an out-of-range or non-numeric token bound
            Map<String, String> overrides = required();
            overrides.put(ExpertConfig.MAX_BATCH_TOKENS, bad);

            // When loaded / Then the error names the key, the limits and the value found
            ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), overrides), bad);
            assertNamesKey(e, ExpertConfig.MAX_BATCH_TOKENS, "[1, 1048576]", bad);
        }
    }

    @Test
    void rejectsBatchWaitOutsideItsRangeNamingKeyAndLimits() {
        for (String bad : List.of("-1", "60001", "5ms")) {
            // Given an out-of-range or non-numeric wait
            Map<String, String> overrides = required();
            overrides.put(ExpertConfig.MAX_BATCH_WAIT_MS, bad);

            // When loaded / Then the error names the key, the limits and the value found
            ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), overrides), bad);
            assertNamesKey(e, ExpertConfig.MAX_BATCH_WAIT_MS, "[0, 60000]", bad);
        }
    }

    @Test
    void acceptsTheBoundsOfEachRange() {
        // Given the smallest and largest allowed values
        Map<String, String> low = required();
        low.put(ExpertConfig.MAX_BATCH_TOKENS, "1");
        low.put(ExpertConfig.MAX_BATCH_WAIT_MS, "0");
        Map<String, String> high = required();
        high.put(ExpertConfig.MAX_BATCH_TOKENS, "1048576");
        high.put(ExpertConfig.MAX_BATCH_WAIT_MS, "60000");

        // When loaded / Then they are kept
        assertEquals(1, load(null, Map.of(), low).maxBatchTokens());
        assertEquals(Duration.ZERO, load(null, Map.of(), low).maxBatchWait());
        assertEquals(1 << 20, load(null, Map.of(), high).maxBatchTokens());
        assertEquals(Duration.ofMinutes(1), load(null, Map.of(), high).maxBatchWait());
    }

    @Test
    void rejectsANegativeExpertIdNamingTheKeyAndTheId() {
        // Given a negative id from the command line
        Map<String, String> overrides = required();
        overrides.put(ExpertConfig.EXPERTS, "-1");

        // When loaded / Then the error names the key and the id
        ConfigException e = assertThrows(ConfigException.class, () -> load(null, Map.of(), overrides));
        assertNamesKey(e, ExpertConfig.EXPERTS, "-1");
    }

    @Test
    void constructorValidatesLimitsNamingKeys() {
        // Given values built in code rather than loaded
        // When constructed / Then each invalid one is rejected naming its key and limit
        assertNamesKey(
                assertThrows(ConfigException.class, () -> direct(Set.of(0), 0, Duration.ZERO)),
                ExpertConfig.MAX_BATCH_TOKENS,
                ">= 1",
                "0");
        assertNamesKey(
                assertThrows(ConfigException.class, () -> direct(Set.of(0), 1, Duration.ofMillis(-1))),
                ExpertConfig.MAX_BATCH_WAIT_MS,
                ">= 0");
        assertNamesKey(
                assertThrows(ConfigException.class, () -> direct(Set.of(), 1, Duration.ZERO)),
                ExpertConfig.EXPERTS,
                "required");
        assertNamesKey(
                assertThrows(ConfigException.class, () -> direct(Set.of(2, -3), 1, Duration.ZERO)),
                ExpertConfig.EXPERTS,
                "-3");
    }

    @Test
    void constructorCopiesExpertsAndKafkaPropertiesDefensively() {
        // Given mutable inputs
        Set<Integer> experts = new HashSet<>(Set.of(2, 0));
        Map<String, String> kafka = new LinkedHashMap<>(Map.of("acks", "all"));

        // When constructed and the inputs change afterwards
        ExpertConfig c = new ExpertConfig(
                "b:9092",
                "http://r",
                "moe.",
                Path.of("/m"),
                experts,
                Set.of(),
                false,
                "g-",
                8,
                Duration.ZERO,
                null,
                true,
                Duration.ZERO,
                DType.F32,
                kafka,
                null);
        experts.add(9);
        kafka.put("linger.ms", "50");

        // Then the configuration is unaffected and immutable
        assertEquals(Set.of(0, 2), c.experts());
        assertEquals(Map.of("acks", "all"), c.kafka());
        assertThrows(UnsupportedOperationException.class, () -> c.experts().add(1));
        assertTrue(c.workerId().startsWith("worker-"), c.workerId());
        assertFalse(c.stableIdentity(), "a generated worker id is not a stable identity");
    }

    @Test
    void rejectsARangeSpanningTooManyIdsBeforeBuildingIt() {
        // Given a range of two billion ids / When parsed / Then it is refused naming the key and the limit
        ConfigException e = assertThrows(ConfigException.class, () -> ExpertConfig.parseExperts("0-2000000000"));
        assertNamesKey(e, ExpertConfig.EXPERTS, Integer.toString(ExpertConfig.MAX_EXPERT_RANGE));
    }

    @Test
    void toStringPrintsKafkaKeysButNeverTheirValues() {
        // Given a SASL secret among the Kafka properties
        Map<String, String> o = required();
        o.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule password=\"s3cret\";");
        ExpertConfig config = load(null, Map.of(), o);

        // When printed / Then the key shows and the secret does not
        assertTrue(config.toString().contains("sasl.jaas.config"), config.toString());
        assertFalse(config.toString().contains("s3cret"), config.toString());
    }
}
