package io.moestreams.schemas;

import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * {@link AvroSerializer} + {@link AvroDeserializer} as a Kafka {@link Serde} for one SpecificRecord
 * type, in the Confluent wire format.
 *
 * <p>Programmatic: {@code new AvroSerde<>(client, DispatchBlock.class)} is ready to use (as a value
 * serde; {@link #configure} with isKey=true makes it a key serde). Config style: {@code new
 * AvroSerde<>()} or {@code new AvroSerde<>(DispatchBlock.class)}, then {@link #configure} with
 * {@code schema.registry.url} (and {@code specific.avro.value.type} when no class was given).
 */
public class AvroSerde<T extends SpecificRecord> implements Serde<T> {

    private final AvroSerializer<T> serializer;
    private final AvroDeserializer<T> deserializer;

    /** For Kafka-config instantiation: call {@link #configure} before use. */
    public AvroSerde() {
        this.serializer = new AvroSerializer<>();
        this.deserializer = new AvroDeserializer<>();
    }

    /** Config style with a known record class: call {@link #configure} before use. */
    public AvroSerde(Class<T> type) {
        this.serializer = new AvroSerializer<>();
        this.deserializer = new AvroDeserializer<>(type);
    }

    /** A value serde for {@code type} on {@code client}, auto-registering schemas. */
    public AvroSerde(SchemaRegistry client, Class<T> type) {
        this(client, type, false, true);
    }

    /** A key or value serde for {@code type} on {@code client}. */
    public AvroSerde(SchemaRegistry client, Class<T> type, boolean isKey, boolean autoRegister) {
        this.serializer = new AvroSerializer<>(client, isKey, autoRegister);
        this.deserializer = new AvroDeserializer<>(client, type);
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        serializer.configure(configs, isKey);
        deserializer.configure(configs, isKey);
    }

    @Override
    public Serializer<T> serializer() {
        return serializer;
    }

    @Override
    public Deserializer<T> deserializer() {
        return deserializer;
    }

    @Override
    public void close() {
        serializer.close();
        deserializer.close();
    }
}
