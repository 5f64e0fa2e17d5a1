package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.testsupport.EmbeddedCluster;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** BACKWARD evolution of a contract through the real registry and the serde. */
@EmbeddedCluster
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SchemaEvolutionIT {

    private static String url;
    private SchemaRegistryClient client;
    private String topic;
    private String subject;

    @BeforeAll
    static void startStack(EmbeddedStack cluster) {
        url = cluster.schemaRegistryUrl();
    }

    @BeforeEach
    void freshSubjectUnderBackward() {
        client = new SchemaRegistryClient(url);
        topic = "it-evolution-" + UUID.randomUUID();
        subject = WireFormat.subject(topic, false);
        // v1 = the generated InferenceRequest, registered by the serializer on first use
        new AvroSerializer<InferenceRequest>(client).serialize(topic, Samples.request("v1"));
        client.setCompatibility(subject, "BACKWARD");
    }

    /** InferenceRequest's schema with a field replaced or added (a hand-made incompatible version). */
    private static Schema withField(Schema.Field extra, String replacing) {
        Schema v1 = InferenceRequest.getClassSchema();
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field field : v1.getFields()) {
            if (!field.name().equals(replacing)) {
                fields.add(new Schema.Field(field, field.schema()));
            }
        }
        fields.add(extra);
        return Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
    }

    @Test
    void addingAnOptionalFieldIsBackwardCompatibleAndBothReadersReadBothVersions() {
        // Given v1 data, and v2 (a new optional field) checked and registered through its serializer
        InferenceRequest v1Record = Samples.request("r-1");
        byte[] v1Bytes = new AvroSerializer<InferenceRequest>(client).serialize(topic, v1Record);
        boolean compatible = client.testCompatibility(subject, InferenceRequestV2.SCHEMA$);
        InferenceRequestV2 v2Record = new InferenceRequestV2("r-2", v1Record.getTokens(), 99L, 7);
        byte[] v2Bytes =
                new AvroSerializer<InferenceRequestV2>(new SchemaRegistryClient(url)).serialize(topic, v2Record);

        // When an old reader (v1 class) reads v2 data and a new reader (v2 class) reads v1 data
        InferenceRequest oldReadsNew = new AvroDeserializer<>(new SchemaRegistryClient(url), InferenceRequest.class)
                .deserialize(topic, v2Bytes);
        InferenceRequestV2 newReadsOld = new AvroDeserializer<>(new SchemaRegistryClient(url), InferenceRequestV2.class)
                .deserialize(topic, v1Bytes);

        // Then v2 got its own id, the old reader ignores the new field, the new reader gets its default (null)
        assertTrue(compatible);
        assertNotEquals(WireFormat.schemaId(v1Bytes), WireFormat.schemaId(v2Bytes));
        assertEquals(List.of(1, 2), client.versions(subject));
        assertEquals(new InferenceRequest("r-2", v1Record.getTokens(), 99L), oldReadsNew);
        assertEquals("r-1", newReadsOld.requestId());
        assertEquals(v1Record.getTokens(), newReadsOld.tokens());
        assertEquals(v1Record.getDeadlineMs(), newReadsOld.deadlineMs());
        assertNull(newReadsOld.priority());
    }

    @Test
    void theFingerprintFieldsAreBackwardCompatibleWithTheSchemasBeforeThem() {
        // Given subjects holding the manifest and response schemas as they were before the fingerprint field
        for (Schema current : List.of(DispatchManifest.getClassSchema(), InferenceResponse.getClassSchema())) {
            Schema before = without(current, "fingerprint");
            String s = WireFormat.subject("it-fingerprint-" + UUID.randomUUID(), false);
            client.register(s, before);
            client.setCompatibility(s, "BACKWARD");
            // When the current schema is checked and registered
            boolean compatible = client.testCompatibility(s, current);
            client.register(s, current);
            // Then the registry accepts it as a new version
            assertTrue(compatible, current.getFullName());
            assertEquals(List.of(1, 2), client.versions(s), current.getFullName());
        }
        // And a response written before the field reads with it null
        Schema before = without(InferenceResponse.getClassSchema(), "fingerprint");
        InferenceResponse old = Samples.response("old");
        old.setFingerprint(null);
        String oldTopic = "it-fingerprint-" + UUID.randomUUID();
        byte[] oldBytes =
                new AvroSerializer<>(new SchemaRegistryClient(url)).serialize(oldTopic, new GenericFrom(before, old));
        InferenceResponse read = new AvroDeserializer<>(new SchemaRegistryClient(url), InferenceResponse.class)
                .deserialize(oldTopic, oldBytes);
        assertNull(read.getFingerprint());
        assertEquals(old.getRequestId(), read.getRequestId());
        assertEquals(old.getOutput(), read.getOutput());
    }

    private static Schema without(Schema schema, String field) {
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : schema.getFields()) {
            if (!f.name().equals(field)) {
                fields.add(new Schema.Field(f, f.schema()));
            }
        }
        return Schema.createRecord(schema.getName(), schema.getDoc(), schema.getNamespace(), false, fields);
    }

    /** A record of an older schema carrying the values of the current record's fields of the same names. */
    private static final class GenericFrom extends SpecificRecordBase {
        private static final long serialVersionUID = 1L;

        private final Schema schema;
        private final SpecificRecordBase values;

        GenericFrom(Schema schema, SpecificRecordBase values) {
            this.schema = schema;
            this.values = values;
        }

        @Override
        public Schema getSchema() {
            return schema;
        }

        @Override
        public Object get(int field) {
            return values.get(schema.getFields().get(field).name());
        }

        @Override
        public void put(int field, Object value) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void addingARequiredFieldWithoutDefaultIsRejectedWithTheRegistryReason() {
        // Given v3 = v1 plus a required int field without a default (new readers cannot read v1 data)
        Schema v3 = withField(new Schema.Field("priority", Schema.create(Schema.Type.INT), "required", null), "");

        // When it is tested and registered
        boolean compatible = client.testCompatibility(subject, v3);
        SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.register(subject, v3));

        // Then the registry refuses with 409 and its reason is in the exception
        assertFalse(compatible);
        assertEquals(409, e.httpStatus());
        assertTrue(e.registryMessage() != null && !e.registryMessage().isBlank());
        assertTrue(e.getMessage().contains(e.registryMessage()), e.getMessage());
        assertTrue(e.getMessage().contains("HTTP 409"), e.getMessage());
        assertEquals(List.of(1), client.versions(subject));
    }

    @Test
    void changingAFieldTypeIsRejectedAlsoThroughTheSerializer() {
        // Given v3 = v1 with deadlineMs changed from optional long to string
        Schema v3 = withField(
                new Schema.Field("deadlineMs", Schema.create(Schema.Type.STRING), "now a string", (Object) null),
                "deadlineMs");
        SchemaRegistryClient.Compatibility verdict = client.checkCompatibility(subject, v3);

        // When a serializer tries to register it for the topic
        SerializationException e = assertThrows(
                SerializationException.class,
                () -> new AvroSerializer<>(new SchemaRegistryClient(url)).serialize(topic, new SchemaOnlyRecord(v3)));

        // Then the check says incompatible and the serializer reports the registry's refusal
        assertFalse(verdict.compatible());
        assertTrue(
                e.getMessage()
                        .startsWith("schema registry rejected registering schema io.moestreams.avro.InferenceRequest"),
                e.getMessage());
        assertTrue(e.getCause() instanceof SchemaRegistryException cause && cause.httpStatus() == 409, e.getMessage());
    }

    /** A record that only carries a schema: enough to make the serializer register it. */
    private static final class SchemaOnlyRecord extends SpecificRecordBase {
        private static final long serialVersionUID = 1L;

        private final Schema schema;

        SchemaOnlyRecord(Schema schema) {
            this.schema = schema;
        }

        @Override
        public Schema getSchema() {
            return schema;
        }

        @Override
        public Object get(int field) {
            return null;
        }

        @Override
        public void put(int field, Object value) {
            throw new UnsupportedOperationException();
        }
    }
}
