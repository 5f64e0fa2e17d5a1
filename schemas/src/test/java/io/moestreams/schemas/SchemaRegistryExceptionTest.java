package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class SchemaRegistryExceptionTest {

    @Test
    void onlyAnUnreachableOrFailingRegistryCountsAsTransient() {
        // Given registry failures of several kinds, wrapped as a deserializer wraps them
        var unreachable = new SerializationException("x", new SchemaRegistryException("down", -1, -1, null, null));
        var serverError =
                new SerializationException("x", new SchemaRegistryException("boom", 503, 50301, "busy", null));
        var notFound =
                new SerializationException("x", new SchemaRegistryException("gone", 404, 40403, "no schema", null));
        var corrupt = new SerializationException("unknown magic byte 0x07");

        // Then only the first two are transient (retried by the services instead of dead-lettered)
        assertTrue(SchemaRegistryException.isTransient(unreachable));
        assertTrue(SchemaRegistryException.isTransient(serverError));
        assertFalse(SchemaRegistryException.isTransient(notFound));
        assertFalse(SchemaRegistryException.isTransient(corrupt));
    }
}
