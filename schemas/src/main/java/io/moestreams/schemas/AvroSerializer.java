package io.moestreams.schemas;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serializes Avro SpecificRecords in the Confluent wire format (byte 0x0, 4-byte big-endian schema
 * id, Avro binary), byte-compatible with Confluent's {@code KafkaAvroSerializer}.
 *
 * <p>The subject is {@code <topic>-value} ({@code <topic>-key} for a key serializer). On the first
 * record of a (topic, schema) the schema is registered ({@code auto.register.schemas=true}, the
 * default) or looked up (false); the id is then cached, so the hot path makes no HTTP call. Encoder
 * and output buffer are reused per thread. {@code null} serializes to {@code null}.
 *
 * <p>Use {@link #AvroSerializer(SchemaRegistry)} programmatically, or the no-arg constructor
 * plus {@link #configure} with {@code schema.registry.url}. Thread-safe after configuration.
 */
public class AvroSerializer<T extends SpecificRecord> implements Serializer<T> {

    /** Output buffers that grew beyond this are not kept for the next record. */
    private static final int MAX_RETAINED_BUFFER = 4 * 1024 * 1024;

    private volatile SchemaRegistry client;
    private volatile boolean isKey;
    private volatile boolean autoRegister = true;
    private final Map<TopicSchema, Integer> ids = new ConcurrentHashMap<>();
    private final Map<Schema, DatumWriter<Object>> writers = new ConcurrentHashMap<>();
    private final ThreadLocal<Buffers> buffers = ThreadLocal.withInitial(Buffers::new);

    private record TopicSchema(String topic, Schema schema) {}

    /** An unsynchronized growable byte sink (ByteArrayOutputStream locks on every write). */
    private static final class Output extends OutputStream {
        private byte[] buf = new byte[4096];
        private int count;

        void reset() {
            count = 0;
        }

        int capacity() {
            return buf.length;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, count);
        }

        private void ensure(int extra) {
            int needed = count + extra;
            if (needed < 0) {
                throw new IllegalStateException("serialized record exceeds 2 GiB");
            }
            if (needed > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(needed, (int) Math.min(Integer.MAX_VALUE - 8, 2L * buf.length)));
            }
        }

        @Override
        public void write(int b) {
            ensure(1);
            buf[count++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ensure(len);
            System.arraycopy(b, off, buf, count, len);
            count += len;
        }
    }

    private static final class Buffers {
        Output out = new Output();
        BinaryEncoder encoder;
    }

    /** For Kafka-config instantiation: call {@link #configure} before use. */
    public AvroSerializer() {}

    /** A value serializer that auto-registers schemas through {@code client}. */
    public AvroSerializer(SchemaRegistry client) {
        this(client, false, true);
    }

    /** A serializer for keys or values, registering schemas or only looking them up. */
    public AvroSerializer(SchemaRegistry client, boolean isKey, boolean autoRegister) {
        this.client = Objects.requireNonNull(client, "client");
        this.isKey = isKey;
        this.autoRegister = autoRegister;
    }

    /**
     * Reads {@code schema.registry.url} (unless a client was given) and {@code auto.register.schemas}.
     */
    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        this.isKey = isKey;
        this.autoRegister = AvroSerdeConfig.autoRegister(configs, autoRegister);
        if (client == null) {
            client = AvroSerdeConfig.clientFrom(configs);
        }
        ids.clear();
    }

    /** The registry client (null before configuration). */
    public SchemaRegistry client() {
        return client;
    }

    @Override
    public byte[] serialize(String topic, T data) {
        if (data == null) {
            return null;
        }
        Schema schema = data.getSchema();
        int id = schemaId(topic, schema);
        Buffers buffer = buffers.get();
        Output out = buffer.out;
        out.reset();
        out.write(WireFormat.MAGIC_BYTE);
        out.write(id >>> 24);
        out.write(id >>> 16);
        out.write(id >>> 8);
        out.write(id);
        try {
            // direct (unbuffered) encoder: writes large bytes fields straight from the record's buffer
            BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, buffer.encoder);
            buffer.encoder = encoder;
            writer(data, schema).write(data, encoder);
            encoder.flush();
        } catch (IOException | RuntimeException e) {
            buffer.encoder = null;
            throw new SerializationException(
                    "could not serialize " + schema.getFullName() + " for topic '" + topic + "': " + e.getMessage(), e);
        }
        byte[] bytes = out.toByteArray();
        if (out.capacity() > MAX_RETAINED_BUFFER) {
            buffer.out = new Output();
            buffer.encoder = null;
        }
        return bytes;
    }

    private int schemaId(String topic, Schema schema) {
        TopicSchema key = new TopicSchema(topic, schema);
        Integer id = ids.get(key);
        if (id != null) {
            return id;
        }
        SchemaRegistry registry = client;
        if (registry == null) {
            throw new IllegalStateException("AvroSerializer is not configured: pass a SchemaRegistry or call "
                    + "configure() with " + AvroSerdeConfig.SCHEMA_REGISTRY_URL);
        }
        String subject = WireFormat.subject(topic, isKey);
        try {
            id = autoRegister ? registry.register(subject, schema) : registry.lookupId(subject, schema);
        } catch (SchemaRegistryException e) {
            String action = autoRegister ? "registering" : "looking up";
            if (e.isUnreachable()) {
                throw new SerializationException(
                        "schema registry unreachable while " + action + " schema " + schema.getFullName()
                                + " for subject '" + subject + "': " + e.getMessage(),
                        e);
            }
            if (!autoRegister && e.isNotFound()) {
                throw new SerializationException(
                        "schema " + schema.getFullName() + " is not registered under subject '" + subject + "' and "
                                + AvroSerdeConfig.AUTO_REGISTER_SCHEMAS + " is false: " + e.getMessage(),
                        e);
            }
            throw new SerializationException(
                    "schema registry rejected " + action + " schema " + schema.getFullName() + " for subject '"
                            + subject + "': " + e.getMessage(),
                    e);
        }
        ids.putIfAbsent(key, id);
        return id;
    }

    private DatumWriter<Object> writer(T data, Schema schema) {
        DatumWriter<Object> writer = writers.get(schema);
        if (writer == null) {
            SpecificData model = data instanceof SpecificRecordBase base
                    ? base.getSpecificData()
                    : SpecificData.getForClass(data.getClass());
            writer = new SpecificDatumWriter<>(schema, model);
            DatumWriter<Object> previous = writers.putIfAbsent(schema, writer);
            if (previous != null) {
                writer = previous;
            }
        }
        return writer;
    }

    @Override
    public void close() {
        // the registry client holds no resources that need closing
    }
}
