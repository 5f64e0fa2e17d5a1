package io.moestreams.schemas;

import java.io.EOFException;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Deserializes Confluent-wire-format Avro payloads (byte 0x0, 4-byte big-endian schema id, Avro
 * binary) into SpecificRecords, byte-compatible with Confluent's {@code KafkaAvroSerializer}.
 *
 * <p>The writer schema is fetched by id (cached forever) and resolved against the reader schema —
 * the schema of the configured SpecificRecord class — so an old reader reads data written with a
 * newer, backward-compatible schema and vice versa. One {@link DatumReader} is cached per writer id;
 * the binary decoder is reused per thread. {@code null} or empty input deserializes to {@code null}.
 *
 * <p>Before decoding, every length and count in the payload is checked against the bytes present ({@link
 * AvroBounds}), so a payload never makes the decoder allocate more than a small multiple of its own size.
 *
 * <p>Every failure is a {@link SerializationException} naming the problem: {@code unknown magic byte
 * 0x.. (expected 0x0)}, {@code payload too short: N bytes (need at least 5)}, {@code unknown schema id
 * N}, {@code truncated or corrupt Avro payload for schema id N: ...}, {@code schema registry
 * unreachable while ...}, or a writer schema that cannot be read as the reader type.
 *
 * <p>The record class comes from the constructor or from {@code specific.avro.value.type}
 * ({@code specific.avro.key.type} for keys); without one, the class named by the writer schema is
 * used. Thread-safe after configuration.
 */
public class AvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {

    private volatile SchemaRegistry client;
    private volatile Class<? extends SpecificRecord> type;
    private final Map<Integer, Reader> readers = new ConcurrentHashMap<>();

    /** The datum reader of one writer schema id and the class it must produce. */
    private record Reader(DatumReader<?> datumReader, Class<? extends SpecificRecord> type, Schema writer) {}

    private final ThreadLocal<BinaryDecoder> decoders = new ThreadLocal<>();

    /** For Kafka-config instantiation: call {@link #configure} before use. */
    public AvroDeserializer() {}

    /** Produces {@code type}; the registry comes from {@link #configure}. */
    public AvroDeserializer(Class<T> type) {
        this.type = Objects.requireNonNull(type, "type");
    }

    /** Produces {@code type}, reading writer schemas through {@code client}. */
    public AvroDeserializer(SchemaRegistry client, Class<T> type) {
        this.client = Objects.requireNonNull(client, "client");
        this.type = Objects.requireNonNull(type, "type");
    }

    /**
     * Reads {@code schema.registry.url} (unless a client was given) and, unless a type was given,
     * {@code specific.avro.value.type} / {@code specific.avro.key.type}.
     */
    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        if (type == null) {
            type = AvroSerdeConfig.recordType(configs, isKey);
        }
        if (client == null) {
            client = AvroSerdeConfig.clientFrom(configs);
        }
        readers.clear();
    }

    /** The registry client (null before configuration). */
    public SchemaRegistry client() {
        return client;
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        if (data == null || data.length == 0) {
            return null;
        }
        try {
            WireFormat.checkHeader(data);
        } catch (IllegalArgumentException e) {
            throw new SerializationException(e.getMessage() + " (topic '" + topic + "')");
        }
        int id = WireFormat.readId(data);
        Reader reader = reader(id, topic);
        try {
            // Avro allocates whatever lengths and counts a payload claims: check them against its size first
            AvroBounds.check(reader.writer(), data, WireFormat.HEADER_SIZE);
        } catch (IllegalArgumentException e) {
            throw new SerializationException("truncated or corrupt Avro payload for schema id " + id + " (topic '"
                    + topic + "', " + data.length + " bytes): " + e.getMessage());
        }
        BinaryDecoder decoder = DecoderFactory.get()
                .binaryDecoder(data, WireFormat.HEADER_SIZE, data.length - WireFormat.HEADER_SIZE, decoders.get());
        decoders.set(decoder);
        Object record;
        try {
            record = reader.datumReader().read(null, decoder);
        } catch (EOFException e) {
            throw new SerializationException(
                    "truncated or corrupt Avro payload for schema id " + id + " (topic '" + topic + "', " + data.length
                            + " bytes): the data ends before the record does",
                    e);
        } catch (IOException | RuntimeException e) {
            throw new SerializationException(
                    "truncated or corrupt Avro payload for schema id " + id + " (topic '" + topic + "', " + data.length
                            + " bytes): " + e,
                    e);
        }
        boolean atEnd;
        try {
            atEnd = decoder.isEnd();
        } catch (IOException e) {
            atEnd = false;
        }
        if (!atEnd) {
            throw new SerializationException("truncated or corrupt Avro payload for schema id " + id + " (topic '"
                    + topic + "', " + data.length + " bytes): trailing bytes after the record");
        }
        if (!reader.type().isInstance(record)) {
            throw new SerializationException("schema id " + id + " (topic '" + topic + "') decoded to "
                    + (record == null ? "null" : record.getClass().getName()) + " instead of "
                    + reader.type().getName()
                    + "; is the record class on the classpath and named like its schema?");
        }
        @SuppressWarnings("unchecked") // the record is an instance of the configured type, which is T
        T typed = (T) record;
        return typed;
    }

    private Reader reader(int id, String topic) {
        Reader reader = readers.get(id);
        if (reader != null) {
            return reader;
        }
        SchemaRegistry registry = client;
        if (registry == null) {
            throw new IllegalStateException("AvroDeserializer is not configured: pass a SchemaRegistry or call "
                    + "configure() with " + AvroSerdeConfig.SCHEMA_REGISTRY_URL);
        }
        Schema writer;
        try {
            writer = registry.getById(id);
        } catch (SchemaRegistryException e) {
            if (e.isNotFound()) {
                throw new SerializationException(
                        "unknown schema id " + id + " (topic '" + topic + "'): the registry at " + registry.location()
                                + " has no such schema: " + e.registryMessage(),
                        e);
            }
            if (e.isUnreachable()) {
                throw new SerializationException(
                        "schema registry unreachable while reading writer schema id " + id + " for topic '" + topic
                                + "': " + e.getMessage(),
                        e);
            }
            throw new SerializationException(
                    "schema registry error while reading writer schema id " + id + " for topic '" + topic + "': "
                            + e.getMessage(),
                    e);
        }
        reader = newReader(id, writer);
        Reader previous = readers.putIfAbsent(id, reader);
        return previous != null ? previous : reader;
    }

    private Reader newReader(int id, Schema writer) {
        Class<? extends SpecificRecord> readerType = type;
        if (readerType == null) {
            Class<?> named = SpecificData.get().getClass(writer);
            if (named == null || !SpecificRecord.class.isAssignableFrom(named)) {
                throw new SerializationException("schema id " + id + " is " + writer.getFullName()
                        + " but no SpecificRecord class of that name is on the classpath; configure "
                        + AvroSerdeConfig.SPECIFIC_AVRO_VALUE_TYPE);
            }
            readerType = named.asSubclass(SpecificRecord.class);
        }
        SpecificData model = SpecificData.getForClass(readerType);
        Schema readerSchema = model.getSchema(readerType);
        SchemaCompatibility.SchemaPairCompatibility compatibility =
                SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writer);
        if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            throw new SerializationException("writer schema id " + id + " (" + writer.getFullName()
                    + ") cannot be read as " + readerType.getName() + ": " + compatibility.getDescription());
        }
        return new Reader(new SpecificDatumReader<>(writer, readerSchema, model), readerType, writer);
    }

    @Override
    public void close() {
        // the registry client holds no resources that need closing
    }
}
