package io.moestreams.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The combiner topology. Manifests and expert results are both keyed by request id and co-partitioned, so one
 * processor sees every record of a request without a repartition.
 *
 * <pre>
 * manifests      ─► combiner-manifests-source ─┐
 *                                              ├─► combiner ─► combiner-response-sink ─► responses
 * expert-results ─► combiner-results-source ───┘   [combiner-manifests, combiner-results,
 *                                                   combiner-timers, combiner-done]
 * </pre>
 */
public final class CombinerTopology {

    public static final String MANIFESTS_SOURCE = "combiner-manifests-source";
    public static final String RESULTS_SOURCE = "combiner-results-source";
    public static final String PROCESSOR = "combiner";
    public static final String SINK = "combiner-response-sink";
    public static final String MANIFESTS_STORE = "combiner-manifests";
    public static final String RESULTS_STORE = "combiner-results";
    public static final String TIMERS_STORE = "combiner-timers";
    public static final String DONE_STORE = "combiner-done";

    private CombinerTopology() {
    }

    @SuppressWarnings("unchecked")
    public static Topology build(GatewayConfig config, Topics topics, TypedTopics typed, InFlightLedger ledger,
                                 MeterRegistry meters) {
        Topology topology = new Topology();
        Deserializer<Object> manifests = (Deserializer<Object>) (Deserializer<?>)
                typed.manifests().valueSerde().deserializer();
        Deserializer<Object> results = (Deserializer<Object>) (Deserializer<?>)
                typed.expertResults().valueSerde().deserializer();
        topology.addSource(MANIFESTS_SOURCE, new StringDeserializer(), manifests, topics.manifests());
        topology.addSource(RESULTS_SOURCE, new StringDeserializer(), results, topics.expertResults());
        topology.addProcessor(PROCESSOR, () -> new CombinerProcessor(config, ledger, meters),
                MANIFESTS_SOURCE, RESULTS_SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(MANIFESTS_STORE),
                Serdes.String(), typed.manifests().valueSerde()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(RESULTS_STORE),
                Serdes.String(), typed.expertResults().valueSerde()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TIMERS_STORE),
                Serdes.Bytes(), Serdes.String()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(DONE_STORE),
                Serdes.String(), Serdes.Long()), PROCESSOR);
        topology.addSink(SINK, topics.responses(), new StringSerializer(),
                typed.responses().valueSerde().serializer(), PROCESSOR);
        return topology;
    }
}
