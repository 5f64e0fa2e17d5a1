package io.moestreams.schemas;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * A schema registry held in memory: ids are global and assigned on first registration of a schema (by its
 * canonical form), a schema registered under several subjects keeps one id, as a Confluent-compatible registry
 * does. No compatibility rules are enforced. Thread-safe.
 */
public final class InMemorySchemaRegistry implements SchemaRegistry {

    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Map<String, Integer> idByCanonical = new ConcurrentHashMap<>();
    private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Integer>> bySubject = new ConcurrentHashMap<>();

    @Override
    public int register(String subject, Schema schema) {
        String canonical = SchemaNormalization.toParsingForm(schema);
        int id = idByCanonical.computeIfAbsent(canonical, c -> {
            int assigned = nextId.getAndIncrement();
            byId.put(assigned, schema);
            return assigned;
        });
        bySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(canonical, id);
        return id;
    }

    @Override
    public int lookupId(String subject, Schema schema) {
        Integer id = bySubject.getOrDefault(subject, Map.of()).get(SchemaNormalization.toParsingForm(schema));
        if (id == null) {
            throw new SchemaRegistryException(
                    "look up schema " + schema.getFullName() + " under subject '" + subject + "'",
                    404,
                    40403,
                    "Schema not found",
                    null);
        }
        return id;
    }

    @Override
    public Schema getById(int id) {
        Schema schema = byId.get(id);
        if (schema == null) {
            throw new SchemaRegistryException("get schema id " + id, 404, 40403, "Schema " + id + " not found", null);
        }
        return schema;
    }

    @Override
    public String location() {
        return "in-memory";
    }

    @Override
    public String toString() {
        return "InMemorySchemaRegistry[" + byId.size() + " schemas]";
    }
}
