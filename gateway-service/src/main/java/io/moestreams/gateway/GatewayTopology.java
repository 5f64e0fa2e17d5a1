package io.moestreams.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.routing.Router;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.RecordContext;
import org.apache.kafka.streams.state.Stores;

/**
 * The gating topology: a pure function of its configuration, the router and the layer's fingerprint (which every
 * manifest carries, and the combiner copies into the response).
 *
 * <pre>
 * requests ─► gateway-requests-source ─► gateway-validate-route ─┬─► gateway-dispatch-sink   ─► expert.&lt;e&gt;
 *                                          [gateway-request-ids,  ├─► gateway-manifest-sink   ─► manifests
 *                                           ...-ids-by-time]      │   (dispatch: expert.<e> and shared-expert.<j>)
 *                                                                 ├─► gateway-response-sink   ─► responses (REJECTED)
 *                                                                 └─► gateway-dead-letter-sink ─► dead-letter
 * </pre>
 */
public final class GatewayTopology {

    public static final String SOURCE = "gateway-requests-source";
    public static final String PROCESSOR = "gateway-validate-route";
    public static final String REQUEST_IDS_STORE = "gateway-request-ids";
    public static final String REQUEST_IDS_BY_TIME_STORE = "gateway-request-ids-by-time";
    public static final String DISPATCH_SINK = "gateway-dispatch-sink";
    public static final String MANIFEST_SINK = "gateway-manifest-sink";
    public static final String RESPONSE_SINK = "gateway-response-sink";
    public static final String DEAD_LETTER_SINK = "gateway-dead-letter-sink";

    private GatewayTopology() {}

    public static Topology build(
            GatewayConfig config,
            Topics topics,
            TypedTopics typed,
            MoeConfig model,
            Router router,
            String fingerprint,
            InFlightLedger ledger,
            MeterRegistry meters) {
        return build(config, topics, typed, model, router, fingerprint, ledger, RoutingObserver.NONE, meters);
    }

    /** The topology with an observer of every routed request (the expert load record). */
    public static Topology build(
            GatewayConfig config,
            Topics topics,
            TypedTopics typed,
            MoeConfig model,
            Router router,
            String fingerprint,
            InFlightLedger ledger,
            RoutingObserver observer,
            MeterRegistry meters) {
        Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.requests());
        topology.addProcessor(
                PROCESSOR,
                () -> new GatewayProcessor(
                        config,
                        model,
                        router,
                        fingerprint,
                        typed.requests().valueSerde().deserializer(),
                        ledger,
                        observer,
                        meters),
                SOURCE);
        topology.addStateStore(
                Stores.keyValueStoreBuilder(
                                Stores.persistentKeyValueStore(REQUEST_IDS_STORE), Serdes.String(), Serdes.Long())
                        .withLoggingEnabled(Changelogs.COMPACT_EARLY),
                PROCESSOR);
        topology.addStateStore(
                Stores.keyValueStoreBuilder(
                                Stores.persistentKeyValueStore(REQUEST_IDS_BY_TIME_STORE),
                                Serdes.Bytes(),
                                Serdes.ByteArray())
                        .withLoggingEnabled(Changelogs.COMPACT_EARLY),
                PROCESSOR);

        // One serializer for every sink: each record carries its own schema (the sinks' value types differ).
        Serializer<SpecificRecord> values = typed.anyValueSerializer();
        int numExperts = model.numExperts();
        topology.addSink(
                DISPATCH_SINK,
                (String key, SpecificRecord value, RecordContext ctx) ->
                        topics.dispatch(((DispatchBlock) value).getExpert(), numExperts),
                new StringSerializer(),
                values,
                PROCESSOR);
        topology.addSink(MANIFEST_SINK, topics.manifests(), new StringSerializer(), values, PROCESSOR);
        topology.addSink(RESPONSE_SINK, topics.responses(), new StringSerializer(), values, PROCESSOR);
        topology.addSink(DEAD_LETTER_SINK, topics.deadLetter(), new StringSerializer(), values, PROCESSOR);
        return topology;
    }
}
