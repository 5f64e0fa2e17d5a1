package io.moestreams.gateway;

import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.schemas.SchemaRegistryClient;
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

    static Map<String, Schema> valueSchemas(Topics topics, int numExperts) {
        Map<String, Schema> m = new LinkedHashMap<>();
        m.put(topics.requests(), InferenceRequest.getClassSchema());
        for (int e = 0; e < numExperts; e++) {
            m.put(topics.expert(e), DispatchBlock.getClassSchema());
        }
        m.put(topics.expertResults(), ExpertResult.getClassSchema());
        m.put(topics.manifests(), DispatchManifest.getClassSchema());
        m.put(topics.responses(), InferenceResponse.getClassSchema());
        m.put(topics.deadLetter(), DeadLetter.getClassSchema());
        return m;
    }

    static void registerAll(SchemaRegistryClient registry, Topics topics, int numExperts) {
        long t0 = System.nanoTime();
        Map<String, Schema> schemas = valueSchemas(topics, numExperts);
        schemas.forEach((topic, schema) -> registry.register(WireFormat.subject(topic, false), schema));
        LOGGER.info("Registered {} value schemas in {} ms", schemas.size(), (System.nanoTime() - t0) / 1_000_000);
    }
}
