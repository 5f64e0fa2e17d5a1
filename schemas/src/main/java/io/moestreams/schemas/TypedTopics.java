package io.moestreams.schemas;

import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertLoad;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * The topics of {@link Topics} with their serdes: keys are the request id as a UTF-8 string, values
 * Avro records in the Confluent wire format on {@code client}. One value serde per record type is
 * shared by all topics of that type (its schema-id cache is per topic). Thread-safe.
 */
public final class TypedTopics {

    private final Topics names;
    private final SchemaRegistry client;
    private final Serde<String> keys = Serdes.String();
    private final AvroSerde<InferenceRequest> requests;
    private final AvroSerde<DispatchBlock> blocks;
    private final AvroSerde<ExpertResult> results;
    private final AvroSerde<DispatchManifest> manifests;
    private final AvroSerde<InferenceResponse> responses;
    private final AvroSerde<DeadLetter> deadLetters;
    private final AvroSerde<ExpertLoad> loads;
    private final AvroSerializer<SpecificRecord> anyValues;

    public TypedTopics(Topics names, SchemaRegistry client) {
        this.names = Objects.requireNonNull(names, "names");
        this.client = Objects.requireNonNull(client, "client");
        this.requests = new AvroSerde<>(client, InferenceRequest.class);
        this.blocks = new AvroSerde<>(client, DispatchBlock.class);
        this.results = new AvroSerde<>(client, ExpertResult.class);
        this.manifests = new AvroSerde<>(client, DispatchManifest.class);
        this.responses = new AvroSerde<>(client, InferenceResponse.class);
        this.deadLetters = new AvroSerde<>(client, DeadLetter.class);
        this.loads = new AvroSerde<>(client, ExpertLoad.class);
        this.anyValues = new AvroSerializer<>(client);
    }

    /** The topic names. */
    public Topics names() {
        return names;
    }

    /** The registry client of the value serdes. */
    public SchemaRegistry client() {
        return client;
    }

    /**
     * One value serializer for every record type (each record carries its schema): for Streams sinks fed by a
     * processor that emits several types.
     */
    public Serializer<SpecificRecord> anyValueSerializer() {
        return anyValues;
    }

    public Topic<String, InferenceRequest> requests() {
        return new Topic<>(names.requests(), keys, requests);
    }

    public Topic<String, DispatchBlock> expert(int e) {
        return new Topic<>(names.expert(e), keys, blocks);
    }

    public Topic<String, ExpertResult> expertResults() {
        return new Topic<>(names.expertResults(), keys, results);
    }

    public Topic<String, DispatchManifest> manifests() {
        return new Topic<>(names.manifests(), keys, manifests);
    }

    public Topic<String, InferenceResponse> responses() {
        return new Topic<>(names.responses(), keys, responses);
    }

    public Topic<String, DeadLetter> deadLetter() {
        return new Topic<>(names.deadLetter(), keys, deadLetters);
    }

    /** The expert load record; keys are {@code <layer>/<instance>/<windowStartMs>}. */
    public Topic<String, ExpertLoad> expertLoad() {
        return new Topic<>(names.expertLoad(), keys, loads);
    }

    @Override
    public String toString() {
        return "TypedTopics[" + names.prefix() + " @ " + client.location() + "]";
    }
}
