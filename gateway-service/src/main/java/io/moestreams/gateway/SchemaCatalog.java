package io.moestreams.gateway;

import io.moestreams.schemas.SchemaRegistry;
import io.moestreams.schemas.TopicCatalog;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.WireFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the value schema of every platform topic at start-up (subject {@code <topic>-value}, BACKWARD), so
 * an incompatible deployment fails here, before it consumes anything, and the first request pays no
 * registration round trips.
 */
final class SchemaCatalog {

    private static final Logger LOGGER = LoggerFactory.getLogger(SchemaCatalog.class);

    private SchemaCatalog() {}

    static Map<String, Schema> valueSchemas(Topics topics, int numExperts, int numShared) {
        Map<String, Schema> m = new LinkedHashMap<>();
        for (TopicCatalog.Entry t : TopicCatalog.of(topics, numExperts, numShared)) {
            m.put(t.name(), t.valueSchema());
        }
        return m;
    }

    static void registerAll(SchemaRegistry registry, Topics topics, int numExperts, int numShared) {
        long t0 = System.nanoTime();
        Map<String, Schema> schemas = valueSchemas(topics, numExperts, numShared);
        schemas.forEach((topic, schema) -> registry.register(WireFormat.subject(topic, false), schema));
        LOGGER.info("Registered {} value schemas in {} ms", schemas.size(), (System.nanoTime() - t0) / 1_000_000);
    }
}
