package io.moestreams.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
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
 * manifests      ─► combiner-manifests-source ─┐                ┌─► combiner-response-sink    ─► responses
 *                                              ├─► combiner ────┤
 *                                              │                └─► combiner-dead-letter-sink ─► dead-letter
 * expert-results ─► combiner-results-source ───┘   [combiner-manifests, combiner-results,
 *                                                   combiner-timers, combiner-done, combiner-arrivals]
 * </pre>
 */
public final class CombinerTopology {

    public static final String MANIFESTS_SOURCE = "combiner-manifests-source";
    public static final String RESULTS_SOURCE = "combiner-results-source";
    public static final String PROCESSOR = "combiner";
    public static final String SINK = "combiner-response-sink";
    public static final String DEAD_LETTER_SINK = "combiner-dead-letter-sink";
    public static final String MANIFESTS_STORE = "combiner-manifests";
    public static final String RESULTS_STORE = "combiner-results";
    public static final String TIMERS_STORE = "combiner-timers";
    public static final String DONE_STORE = "combiner-done";
    public static final String ARRIVALS_STORE = "combiner-arrivals";

    private CombinerTopology() {}

    public static Topology build(
            GatewayConfig config, Topics topics, TypedTopics typed, InFlightLedger ledger, MeterRegistry meters) {
        Topology topology = new Topology();
        // Values are decoded in the processor, so an undecodable record becomes a dead letter with its bytes.
        topology.addSource(MANIFESTS_SOURCE, new StringDeserializer(), new ByteArrayDeserializer(), topics.manifests());
        topology.addSource(
                RESULTS_SOURCE, new StringDeserializer(), new ByteArrayDeserializer(), topics.expertResults());
        topology.addProcessor(
                PROCESSOR,
                () -> new CombinerProcessor(
                        config,
                        topics.manifests(),
                        topics.expertResults(),
                        typed.manifests().valueSerde().deserializer(),
                        typed.expertResults().valueSerde().deserializer(),
                        ledger,
                        meters),
                MANIFESTS_SOURCE,
                RESULTS_SOURCE);
        topology.addStateStore(
                Stores.keyValueStoreBuilder(
                                Stores.persistentKeyValueStore(MANIFESTS_STORE),
                                Serdes.String(),
                                typed.manifests().valueSerde())
                        .withLoggingEnabled(Changelogs.COMPACT_EARLY),
                PROCESSOR);
        topology.addStateStore(
                Stores.keyValueStoreBuilder(
                                Stores.persistentKeyValueStore(RESULTS_STORE), Serdes.String(), Serdes.ByteArray())
                        .withLoggingEnabled(Changelogs.COMPACT_EARLY),
                PROCESSOR);
        topology.addStateStore(
                Stores.keyValueStoreBuilder(
                                Stores.persistentKeyValueStore(TIMERS_STORE), Serdes.Bytes(), Serdes.String())
                        .withLoggingEnabled(Changelogs.COMPACT_EARLY),
                PROCESSOR);
        topology.addStateStore(
                Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(DONE_STORE), Serdes.String(), Serdes.Long())
                        .withLoggingEnabled(Changelogs.COMPACT_EARLY),
                PROCESSOR);
        topology.addStateStore(
                Stores.keyValueStoreBuilder(
                                Stores.persistentKeyValueStore(ARRIVALS_STORE), Serdes.String(), Serdes.ByteArray())
                        .withLoggingEnabled(Changelogs.COMPACT_EARLY),
                PROCESSOR);
        topology.addSink(SINK, topics.responses(), new StringSerializer(), typed.anyValueSerializer(), PROCESSOR);
        topology.addSink(
                DEAD_LETTER_SINK, topics.deadLetter(), new StringSerializer(), typed.anyValueSerializer(), PROCESSOR);
        return topology;
    }
}
