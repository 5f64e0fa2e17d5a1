package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/** Wire-format framing and error handling, with a scripted HTTP endpoint standing in for the registry. */
class AvroSerdeTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ID = 0x01020304;

    private static InferenceRequest request() {
        return new InferenceRequest("req-1", Tensors.f32(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 2, 3), 1234L);
    }

    /** Avro binary of request() built independently: generic records and a plain GenericDatumWriter. */
    private static byte[] genericAvro() throws Exception {
        Schema requestSchema =
                new Schema.Parser().parse(InferenceRequest.getClassSchema().toString());
        Schema tensorSchema = requestSchema.getField("tokens").schema();
        GenericRecord tensor = new GenericData.Record(tensorSchema);
        tensor.put(
                "dtype",
                new GenericData.EnumSymbol(tensorSchema.getField("dtype").schema(), "F32"));
        tensor.put("shape", List.of(2, 3));
        ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 1; i <= 6; i++) {
            data.putFloat(i);
        }
        data.flip();
        tensor.put("data", data);
        GenericRecord record = new GenericData.Record(requestSchema);
        record.put("requestId", "req-1");
        record.put("tokens", tensor);
        record.put("deadlineMs", 1234L);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(requestSchema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    private static byte[] frame(int id, byte[] avro) {
        return ByteBuffer.allocate(5 + avro.length)
                .put((byte) 0)
                .putInt(id)
                .put(avro)
                .array();
    }

    private static StubRegistry registryWith(Schema schema, int id) throws Exception {
        StubRegistry stub = new StubRegistry();
        stub.on("POST", "/apis/ccompat/v7/subjects/moe.requests-value/versions", 200, "{\"id\":" + id + "}");
        stub.on(
                "POST",
                "/apis/ccompat/v7/subjects/moe.requests-value",
                200,
                "{\"subject\":\"moe.requests-value\",\"version\":1,\"id\":" + id + "}");
        stub.on(
                "GET",
                "/apis/ccompat/v7/schemas/ids/" + id,
                200,
                JSON.createObjectNode().put("schema", schema.toString()).toString());
        stub.on(
                "GET",
                "/apis/ccompat/v7/schemas/ids/99",
                404,
                "{\"error_code\":40403,\"message\":\"Schema 99 not found.\"}");
        return stub;
    }

    @Test
    void framesRecordsExactlyLikeTheConfluentWireFormat() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given a serializer on a registry that assigns id 0x01020304
            AvroSerializer<InferenceRequest> serializer =
                    new AvroSerializer<>(new SchemaRegistryClient(stub.baseUrl()));

            // When a request is serialized
            byte[] bytes = serializer.serialize("moe.requests", request());

            // Then it is 0x0, the id big-endian, then the Avro binary a generic writer produces
            assertArrayEquals(frame(ID, genericAvro()), bytes);
            assertEquals(ID, WireFormat.schemaId(bytes));
            assertEquals(
                    "/apis/ccompat/v7/subjects/moe.requests-value/versions",
                    stub.requests.get(0).path());
        }
    }

    @Test
    void readsIndependentlyFramedBytesBackIntoAnEqualRecord() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given independently built wire bytes and a fresh deserializer
            AvroDeserializer<InferenceRequest> deserializer =
                    new AvroDeserializer<>(new SchemaRegistryClient(stub.baseUrl()), InferenceRequest.class);

            // When they are deserialized twice
            InferenceRequest first = deserializer.deserialize("moe.requests", frame(ID, genericAvro()));
            InferenceRequest second = deserializer.deserialize("moe.requests", frame(ID, genericAvro()));

            // Then the record equals the original, and the writer schema was fetched once
            assertEquals(request(), first);
            assertEquals(first, second);
            assertEquals(1, stub.requests.size());
        }
    }

    @Test
    void looksUpInsteadOfRegisteringWhenAutoRegisterIsOff() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given a serializer configured Kafka-style with auto.register.schemas=false
            AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
            serializer.configure(
                    Map.of(
                            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                            stub.baseUrl() + "/",
                            AvroSerdeConfig.AUTO_REGISTER_SCHEMAS,
                            "false"),
                    false);

            // When two records are serialized
            byte[] bytes = serializer.serialize("moe.requests", request());
            serializer.serialize("moe.requests", request());

            // Then the id was looked up once via POST /subjects/{subject}
            assertEquals(ID, WireFormat.schemaId(bytes));
            assertEquals(1, stub.requests.size());
            assertEquals(
                    "/apis/ccompat/v7/subjects/moe.requests-value",
                    stub.requests.get(0).path());
        }
    }

    @Test
    void configuresTheRecordTypeFromKafkaProperties() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given a serde built by no-arg constructor and configured with URL and value type
            AvroSerde<InferenceRequest> serde = new AvroSerde<>();
            serde.configure(
                    Map.of(
                            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                            stub.baseUrl(),
                            AvroSerdeConfig.SPECIFIC_AVRO_VALUE_TYPE,
                            InferenceRequest.class.getName()),
                    false);

            // When a record goes through it
            InferenceRequest back = serde.deserializer()
                    .deserialize("moe.requests", serde.serializer().serialize("moe.requests", request()));

            // Then it comes back equal
            assertEquals(request(), back);
        }
    }

    @Test
    void producesTheWriterSchemasClassWhenNoTypeIsConfigured() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given a generic serde (as Kafka Streams' default.value.serde) configured with the URL only
            AvroSerde<SpecificRecord> serde = new AvroSerde<>();
            serde.configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, stub.baseUrl()), false);

            // When independently framed InferenceRequest bytes are read
            Object value = serde.deserializer().deserialize("moe.requests", frame(ID, genericAvro()));

            // Then the record is an instance of the class named by the writer schema
            assertEquals(request(), value);
        }
    }

    @Test
    void rejectsMissingOrBadConfiguration() {
        // Given serdes without a registry URL or with a non-record type
        AvroSerializer<InferenceRequest> unconfigured = new AvroSerializer<>();

        // When configured / used
        ConfigException missing =
                assertThrows(ConfigException.class, () -> new AvroSerde<>().configure(Map.of(), false));
        ConfigException notRecord = assertThrows(
                ConfigException.class,
                () -> new AvroDeserializer<>()
                        .configure(
                                Map.of(
                                        AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                                        "http://127.0.0.1:1",
                                        AvroSerdeConfig.SPECIFIC_AVRO_VALUE_TYPE,
                                        "java.lang.String"),
                                false));
        IllegalStateException notConfigured =
                assertThrows(IllegalStateException.class, () -> unconfigured.serialize("t", request()));

        // Then each names the problem
        assertTrue(missing.getMessage().contains("schema.registry.url"), missing.getMessage());
        assertTrue(notRecord.getMessage().contains("not an Avro SpecificRecord"), notRecord.getMessage());
        assertTrue(notConfigured.getMessage().contains("not configured"), notConfigured.getMessage());
    }

    @Test
    void mapsNullAndEmptyToNull() throws Exception {
        // Given a serde whose registry is never contacted
        SchemaRegistryClient client =
                new SchemaRegistryClient("http://127.0.0.1:" + SchemaRegistryClientTest.closedPort());
        AvroSerde<InferenceRequest> serde = new AvroSerde<>(client, InferenceRequest.class);

        // When null and empty payloads go through
        // Then they are null both ways, without HTTP calls
        assertNull(serde.serializer().serialize("t", null));
        assertNull(serde.deserializer().deserialize("t", null));
        assertNull(serde.deserializer().deserialize("t", new byte[0]));
        assertEquals(0, client.httpRequestCount());
    }

    @Test
    void rejectsWrongMagicByteAndShortPayloadsBeforeAnyRegistryCall() throws Exception {
        // Given a deserializer whose registry is never contacted
        SchemaRegistryClient client =
                new SchemaRegistryClient("http://127.0.0.1:" + SchemaRegistryClientTest.closedPort());
        AvroDeserializer<InferenceRequest> deserializer = new AvroDeserializer<>(client, InferenceRequest.class);

        // When a payload with magic 0x7b ('{', e.g. JSON) and one of 3 bytes are read
        SerializationException magic = assertThrows(
                SerializationException.class,
                () -> deserializer.deserialize("moe.requests", "{\"id\":1}".getBytes(StandardCharsets.UTF_8)));
        SerializationException shortPayload = assertThrows(
                SerializationException.class, () -> deserializer.deserialize("moe.requests", new byte[] {0, 0, 1}));

        // Then the messages name the problem
        assertTrue(magic.getMessage().startsWith("unknown magic byte 0x7b (expected 0x0)"), magic.getMessage());
        assertTrue(
                shortPayload.getMessage().startsWith("payload too short: 3 bytes (need at least 5"),
                shortPayload.getMessage());
        assertEquals(0, client.httpRequestCount());
    }

    @Test
    void rejectsTruncatedTrailingAndUnknownIdPayloads() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given valid wire bytes, and variants cut short, with trailing garbage, and with an unknown id
            AvroDeserializer<InferenceRequest> deserializer =
                    new AvroDeserializer<>(new SchemaRegistryClient(stub.baseUrl()), InferenceRequest.class);
            byte[] valid = frame(ID, genericAvro());
            byte[] truncated = Arrays.copyOf(valid, valid.length - 7);
            byte[] trailing = Arrays.copyOf(valid, valid.length + 2);
            byte[] unknown = frame(99, genericAvro());

            // When each is read
            SerializationException cut = assertThrows(
                    SerializationException.class, () -> deserializer.deserialize("moe.requests", truncated));
            SerializationException extra = assertThrows(
                    SerializationException.class, () -> deserializer.deserialize("moe.requests", trailing));
            SerializationException missing =
                    assertThrows(SerializationException.class, () -> deserializer.deserialize("moe.requests", unknown));

            // Then each message names the problem and the schema id
            assertTrue(
                    cut.getMessage().startsWith("truncated or corrupt Avro payload for schema id " + ID),
                    cut.getMessage());
            assertTrue(extra.getMessage().contains("trailing bytes"), extra.getMessage());
            assertTrue(missing.getMessage().startsWith("unknown schema id 99"), missing.getMessage());
        }
    }

    @Test
    void refusesWriterSchemasThatCannotBeReadAsTheTargetType() throws Exception {
        try (StubRegistry stub = registryWith(Tensor.getClassSchema(), ID)) {
            // Given bytes written with the Tensor schema
            SchemaRegistryClient client = new SchemaRegistryClient(stub.baseUrl());
            byte[] tensorBytes =
                    new AvroSerializer<Tensor>(client).serialize("moe.requests", Tensors.f32(new float[] {1f}, 1));

            // When they are read as an InferenceRequest
            SerializationException e = assertThrows(
                    SerializationException.class,
                    () -> new AvroDeserializer<>(client, InferenceRequest.class)
                            .deserialize("moe.requests", tensorBytes));

            // Then the message names both types
            assertTrue(
                    e.getMessage().contains("io.moestreams.avro.Tensor")
                            && e.getMessage().contains("cannot be read as io.moestreams.avro.InferenceRequest"),
                    e.getMessage());
        }
    }

    @Test
    void reportsAnUnreachableRegistryOnBothSides() throws Exception {
        // Given serdes pointed at a closed port
        String url = "http://127.0.0.1:" + SchemaRegistryClientTest.closedPort() + "/apis/ccompat/v7";
        AvroSerde<InferenceRequest> serde = new AvroSerde<>(new SchemaRegistryClient(url), InferenceRequest.class);

        // When a record is serialized and a framed payload deserialized
        SerializationException write = assertThrows(
                SerializationException.class, () -> serde.serializer().serialize("moe.requests", request()));
        SerializationException read = assertThrows(
                SerializationException.class,
                () -> serde.deserializer().deserialize("moe.requests", frame(5, new byte[] {2, 0x41})));

        // Then both say the registry is unreachable and name its URL
        assertTrue(write.getMessage().startsWith("schema registry unreachable while registering"), write.getMessage());
        assertTrue(write.getMessage().contains(url), write.getMessage());
        assertTrue(
                read.getMessage().startsWith("schema registry unreachable while reading writer schema id 5"),
                read.getMessage());
        assertTrue(read.getMessage().contains(url), read.getMessage());
    }

    @Test
    void reportsRecordsWithMissingRequiredFieldsAsSerializationErrors() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given a request without its required tokens
            AvroSerializer<InferenceRequest> serializer =
                    new AvroSerializer<>(new SchemaRegistryClient(stub.baseUrl()));
            InferenceRequest broken = new InferenceRequest("r", null, null);

            // When serialized
            SerializationException e =
                    assertThrows(SerializationException.class, () -> serializer.serialize("moe.requests", broken));

            // Then the error names the record type and the topic, and the serializer still works afterwards
            assertTrue(
                    e.getMessage().contains("io.moestreams.avro.InferenceRequest")
                            && e.getMessage().contains("'moe.requests'"),
                    e.getMessage());
            assertEquals(ID, WireFormat.schemaId(serializer.serialize("moe.requests", request())));
        }
    }

    @Test
    void roundTripsConcurrentlyFromSeveralThreads() throws Exception {
        try (StubRegistry stub = registryWith(InferenceRequest.getClassSchema(), ID)) {
            // Given one serde shared by 4 threads, each writing requests of different sizes
            AvroSerde<InferenceRequest> serde =
                    new AvroSerde<>(new SchemaRegistryClient(stub.baseUrl()), InferenceRequest.class);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<Integer>> futures = new ArrayList<>();

            // When each thread round-trips 300 records
            for (int t = 0; t < 4; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < 300; i++) {
                        int rows = 1 + (i * 7 + thread) % 40;
                        float[] values = new float[rows * 8];
                        for (int j = 0; j < values.length; j++) {
                            values[j] = thread * 1000 + i + j * 0.5f;
                        }
                        InferenceRequest request = new InferenceRequest(
                                "t" + thread + "-" + i, Tensors.f32(values, rows, 8), i % 2 == 0 ? null : (long) i);
                        if (request.equals(serde.deserializer()
                                .deserialize("moe.requests", serde.serializer().serialize("moe.requests", request)))) {
                            ok++;
                        }
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> future : futures) {
                total += future.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();

            // Then every record came back equal
            assertEquals(1200, total);
        }
    }
}
