package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.Tensor;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.testsupport.EmbeddedCluster;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The registry client against a real Confluent-compatible registry (embedded Apicurio). */
@EmbeddedCluster
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SchemaRegistryClientIT {

    private static String url;

    @BeforeAll
    static void startStack(EmbeddedStack cluster) {
        url = cluster.schemaRegistryUrl();
    }

    private static String subject() {
        return "it-client-" + UUID.randomUUID() + "-value";
    }

    @Test
    void registersIdempotentlyAndServesTheSchemaById() {
        // Given a fresh subject and two independent clients (one with a trailing slash in its URL)
        String subject = subject();
        SchemaRegistryClient first = new SchemaRegistryClient(url);
        SchemaRegistryClient second = new SchemaRegistryClient(url + "/");

        // When both register the same schema and the second fetches it back by id
        int id = first.register(subject, DispatchBlock.getClassSchema());
        int again = second.register(subject, DispatchBlock.getClassSchema());
        Schema fetched = new SchemaRegistryClient(url).getById(id);

        // Then the id is the same and the fetched schema equals the registered one
        assertEquals(id, again);
        assertEquals(DispatchBlock.getClassSchema(), fetched);
        assertEquals(List.of(1), first.versions(subject));
        SchemaRegistryClient.SchemaVersion latest = first.latest(subject);
        assertEquals(id, latest.id());
        assertEquals(1, latest.version());
        assertEquals(id, first.latestVersionId(subject));
        assertTrue(first.subjects().contains(subject));
    }

    @Test
    void cachesRegistrationsLookupsAndIdsSoRepeatedCallsSendNothing() {
        // Given a client that registered a schema and fetched an id once
        String subject = subject();
        SchemaRegistryClient client = new SchemaRegistryClient(url);
        int id = client.register(subject, Tensor.getClassSchema());
        SchemaRegistryClient reader = new SchemaRegistryClient(url);
        reader.getById(id);
        int lookedUp = reader.lookupId(subject, Tensor.getClassSchema());
        long clientCalls = client.httpRequestCount();
        long readerCalls = reader.httpRequestCount();

        // When the same calls are repeated many times
        for (int i = 0; i < 100; i++) {
            assertEquals(id, client.register(subject, Tensor.getClassSchema()));
            assertEquals(id, client.lookupId(subject, Tensor.getClassSchema()));
            assertEquals(Tensor.getClassSchema(), reader.getById(id));
            assertEquals(id, reader.lookupId(subject, Tensor.getClassSchema()));
        }

        // Then no further HTTP request was sent
        assertEquals(id, lookedUp);
        assertEquals(1, clientCalls);
        assertEquals(clientCalls, client.httpRequestCount());
        assertEquals(readerCalls, reader.httpRequestCount());
    }

    @Test
    void reportsTheRegistryErrorCodesForMissingAndInvalidSchemas() {
        // Given a subject with one registered schema
        String subject = subject();
        SchemaRegistryClient client = new SchemaRegistryClient(url);
        client.register(subject, Tensor.getClassSchema());

        // When an unknown subject, an unregistered schema, an unknown id and an invalid schema are used
        SchemaRegistryException noSubject =
                assertThrows(SchemaRegistryException.class, () -> client.lookupId(subject(), Tensor.getClassSchema()));
        SchemaRegistryException noSchema = assertThrows(
                SchemaRegistryException.class, () -> client.lookupId(subject, InferenceRequest.getClassSchema()));
        SchemaRegistryException noId = assertThrows(SchemaRegistryException.class, () -> client.getById(2_000_000_000));
        SchemaRegistryException invalid = assertThrows(
                SchemaRegistryException.class, () -> client.register(subject(), "{\"type\": \"record\", \"name\""));

        // Then each carries the HTTP status and the Confluent error code
        assertEquals(404, noSubject.httpStatus());
        assertEquals(40401, noSubject.errorCode());
        assertEquals(404, noSchema.httpStatus());
        assertEquals(40403, noSchema.errorCode());
        assertEquals(404, noId.httpStatus());
        assertEquals(40403, noId.errorCode());
        assertTrue(noId.getMessage().contains(url), noId.getMessage());
        assertEquals(422, invalid.httpStatus());
        assertEquals(42201, invalid.errorCode());
    }

    @Test
    void readsAndSetsTheCompatibilityLevelOfASubject() {
        // Given a registered subject
        String subject = subject();
        SchemaRegistryClient client = new SchemaRegistryClient(url);
        client.register(subject, Tensor.getClassSchema());

        // When its level is set to FULL and then to BACKWARD
        client.setCompatibility(subject, "FULL");
        String full = client.getCompatibility(subject);
        client.setCompatibility(subject, "BACKWARD");
        String backward = client.getCompatibility(subject);

        // Then each read returns the level last set
        assertEquals("FULL", full);
        assertEquals("BACKWARD", backward);
        assertNotEquals("", client.getGlobalCompatibility());
    }

    @Test
    void treatsASubjectWithoutVersionsAsCompatibleWithAnything() {
        // Given a subject nobody registered
        SchemaRegistryClient client = new SchemaRegistryClient(url);

        // When compatibility is tested
        boolean compatible = client.testCompatibility(subject(), Tensor.getClassSchema());

        // Then any schema is accepted
        assertTrue(compatible);
    }
}
