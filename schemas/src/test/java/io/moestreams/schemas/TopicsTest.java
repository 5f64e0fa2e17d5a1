package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DispatchBlock;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class TopicsTest {

    @Test
    void namesEveryTopicWithTheDefaultPrefix() {
        // Given the default topic names
        Topics topics = new Topics();

        // When every name is asked for
        // Then they follow the documented table
        assertEquals("moe.requests", topics.requests());
        assertEquals("moe.expert.0", topics.expert(0));
        assertEquals("moe.expert.17", topics.expert(17));
        assertEquals("moe.expert-results", topics.expertResults());
        assertEquals("moe.manifests", topics.manifests());
        assertEquals("moe.responses", topics.responses());
        assertEquals("moe.dead-letter", topics.deadLetter());
        assertEquals(
                List.of(
                        "moe.requests",
                        "moe.expert.0",
                        "moe.expert.1",
                        "moe.expert.2",
                        "moe.expert-results",
                        "moe.manifests",
                        "moe.responses",
                        "moe.dead-letter",
                        "moe.expert-load"),
                topics.all(3));
    }

    @Test
    void appliesCustomAndEmptyPrefixes() {
        // Given a custom and an empty prefix
        Topics custom = new Topics("test-7_a.");
        Topics bare = new Topics("");

        // When names are built
        // Then the prefix is prepended verbatim
        assertEquals("test-7_a.requests", custom.requests());
        assertEquals("expert.4", bare.expert(4));
    }

    @Test
    void rejectsIllegalPrefixCharactersAndNegativeExperts() {
        // Given a prefix with a slash and a negative expert index
        // When used
        IllegalArgumentException prefix = assertThrows(IllegalArgumentException.class, () -> new Topics("moe/"));
        IllegalArgumentException expert = assertThrows(IllegalArgumentException.class, () -> new Topics().expert(-1));
        IllegalArgumentException count = assertThrows(IllegalArgumentException.class, () -> new Topics().all(0));
        IllegalArgumentException tooLong =
                assertThrows(IllegalArgumentException.class, () -> new Topics("x".repeat(240)));

        // Then the messages say what is wrong
        assertTrue(prefix.getMessage().contains("illegal character '/'"), prefix.getMessage());
        assertTrue(expert.getMessage().contains("got -1"), expert.getMessage());
        assertTrue(count.getMessage().contains("numExperts"), count.getMessage());
        assertTrue(tooLong.getMessage().contains("249"), tooLong.getMessage());
    }

    @Test
    void parsesTheExpertIndexBackFromATopicName() {
        // Given the default names
        Topics topics = new Topics();

        // When expert topics and other names are parsed
        // Then only canonical expert topics of this prefix yield an index
        assertEquals(OptionalInt.of(12), topics.expertOf("moe.expert.12"));
        assertEquals(OptionalInt.of(0), topics.expertOf(topics.expert(0)));
        assertEquals(OptionalInt.empty(), topics.expertOf("moe.expert-results"));
        assertEquals(OptionalInt.empty(), topics.expertOf("moe.expert."));
        assertEquals(OptionalInt.empty(), topics.expertOf("moe.expert.01"));
        assertEquals(OptionalInt.empty(), topics.expertOf("other.expert.1"));
        assertEquals(OptionalInt.empty(), topics.expertOf("moe.expert.99999999999"));
    }

    @Test
    void typedTopicsPairNamesWithStringKeysAndSharedValueSerdes() {
        // Given typed topics on a client (never contacted here)
        SchemaRegistryClient client = new SchemaRegistryClient("http://127.0.0.1:9/apis/ccompat/v7/");
        TypedTopics typed = new TypedTopics(new Topics("t."), client);

        // When expert topics are asked for
        Topic<String, DispatchBlock> e0 = typed.expert(0);
        Topic<String, DispatchBlock> e5 = typed.expert(5);

        // Then names come from Topics, keys are UTF-8 strings, and one value serde serves all experts
        assertEquals("t.expert.5", e5.name());
        assertEquals("t.responses", typed.responses().name());
        assertEquals("t.dead-letter", typed.deadLetter().name());
        assertSame(e0.valueSerde(), e5.valueSerde());
        assertEquals("r1", e0.keySerde().deserializer().deserialize("t", "r1".getBytes(StandardCharsets.UTF_8)));
        assertEquals(0, client.httpRequestCount());
    }
}
