package io.moestreams.schemas;

import org.apache.avro.Schema;

/**
 * What the Avro serdes need from a Confluent-compatible schema registry: register a schema under a subject, look up
 * its id without registering, and fetch a writer schema by id. {@link SchemaRegistryClient} talks HTTP to a real
 * registry; {@link InMemorySchemaRegistry} keeps everything in the process (topology unit tests, tools).
 */
public interface SchemaRegistry {

    /**
     * Registers {@code schema} under {@code subject} (idempotent) and returns its global id.
     *
     * @throws SchemaRegistryException when the registry refuses it or cannot be asked
     */
    int register(String subject, Schema schema);

    /**
     * The id of {@code schema} already registered under {@code subject}.
     *
     * @throws SchemaRegistryException (not found) when it is not registered there
     */
    int lookupId(String subject, Schema schema);

    /**
     * The schema with global id {@code id}.
     *
     * @throws SchemaRegistryException (not found) when no schema has that id
     */
    Schema getById(int id);

    /** Where the schemas live, for error messages (a URL, or "in-memory"). */
    String location();
}
