package io.moestreams.gateway;

import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.schemas.InMemorySchemaRegistry;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.config.LayeredConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.TopologyTestDriver;

/** Shared set-up of the topology tests: registry-backed serdes on unique topics, a small model, configs. */
final class GatewayTestSupport {

    /** Wall-clock start of every test driver and timestamp of the first input record. */
    static final long T0 = 1_700_000_000_000L;

    private GatewayTestSupport() {}

    /** A unique topic prefix and application id stem, so tests sharing the registry never collide. */
    static String unique(String stem) {
        return stem + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** One in-memory registry for every topology unit test (ids stay consistent across drivers). */
    static final InMemorySchemaRegistry REGISTRY = new InMemorySchemaRegistry();

    static TypedTopics typedTopics(String prefix) {
        return new TypedTopics(new Topics(prefix), REGISTRY);
    }

    /** Writes a random F32 model with the given moe.json into {@code dir}. */
    static Path generateModel(Path dir, String moeJson) {
        try {
            ModelGenerator.generate(dir, MoeConfigJson.parse(moeJson), SafetensorsDtype.parseWritable("F32"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A config with the required keys for a test driver, the given topic prefix, and {@code extra} on top. */
    static GatewayConfig config(String prefix, Path modelDir, Path stateDir, Map<String, String> extra) {
        Map<String, String> o = new HashMap<>();
        o.put(GatewayConfig.APPLICATION_ID, prefix + "app");
        o.put(GatewayConfig.BOOTSTRAP, "dummy:9092");
        o.put(GatewayConfig.REGISTRY, "http://unused-by-topology-tests:8081");
        o.put(GatewayConfig.TOPIC_PREFIX, prefix);
        o.put(GatewayConfig.MODEL_DIR, modelDir.toString());
        o.put(GatewayConfig.STATE_DIR, stateDir.toString());
        o.putAll(extra);
        return GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), null, Map.of(), o));
    }

    /** A test driver with the gateway's own Streams properties and a wall clock starting at {@link #T0}. */
    static TopologyTestDriver driver(Topology topology, GatewayConfig config, String applicationId) {
        return new TopologyTestDriver(
                topology, GatewayApp.streamsProps(config, applicationId), Instant.ofEpochMilli(T0));
    }

    /** Node name → its stores (processors) or its topic (sources, sinks; "<dynamic>" for an extractor). */
    static Map<String, String> describe(Topology topology) {
        Map<String, String> nodes = new TreeMap<>();
        for (TopologyDescription.Subtopology sub : topology.describe().subtopologies()) {
            for (TopologyDescription.Node node : sub.nodes()) {
                if (node instanceof TopologyDescription.Processor p) {
                    nodes.put(p.name(), "stores=" + new TreeSet<>(p.stores()));
                } else if (node instanceof TopologyDescription.Source s) {
                    nodes.put(s.name(), "source=" + new TreeSet<>(s.topicSet()));
                } else if (node instanceof TopologyDescription.Sink s) {
                    nodes.put(s.name(), "sink=" + (s.topic() != null ? s.topic() : "<dynamic>"));
                }
            }
        }
        return nodes;
    }
}
