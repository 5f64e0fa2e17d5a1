package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.embedded.SharedStack;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Confluent-wire-format serde against the real registry and broker. */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class AvroSerdeIT {

    private static String url;
    private static String bootstrap;

    @BeforeAll
    static void startStack() {
        var stack = SharedStack.get();
        url = stack.schemaRegistryUrl();
        bootstrap = stack.bootstrapServers();
    }

    private static String prefix() {
        return "it-" + UUID.randomUUID().toString().substring(0, 8) + ".";
    }

    private static <T extends SpecificRecord> T roundTrip(Topic<String, T> topic, T record) {
        byte[] bytes = topic.valueSerde().serializer().serialize(topic.name(), record);
        return topic.valueSerde().deserializer().deserialize(topic.name(), bytes);
    }

    @Test
    void roundTripsEveryRecordTypeThroughTheSerde() {
        // Given typed topics on the real registry and one sample of each record type
        TypedTopics topics = new TypedTopics(new Topics(prefix()), new SchemaRegistryClient(url));

        // When each is serialized for its topic and deserialized
        // Then it equals the original
        assertEquals(Samples.request("a"), roundTrip(topics.requests(), Samples.request("a")));
        assertEquals(Samples.block("a"), roundTrip(topics.expert(3), Samples.block("a")));
        assertEquals(Samples.result("a"), roundTrip(topics.expertResults(), Samples.result("a")));
        assertEquals(Samples.manifest("a"), roundTrip(topics.manifests(), Samples.manifest("a")));
        assertEquals(Samples.response("a"), roundTrip(topics.responses(), Samples.response("a")));
        assertEquals(Samples.rejected("a"), roundTrip(topics.responses(), Samples.rejected("a")));
        assertEquals(Samples.deadLetter("a"), roundTrip(topics.deadLetter(), Samples.deadLetter("a")));
        // and the tensors decode to the values that went in
        assertArrayEquals(
                Tensors.toFloats(Samples.block("a").getHidden()),
                Tensors.toFloats(roundTrip(topics.expert(3), Samples.block("a")).getHidden(), "hidden"));
    }

    @Test
    void roundTripsEveryRecordTypeThroughTheBroker() throws Exception {
        // Given fresh topics for every record type on the embedded broker
        Topics names = new Topics(prefix());
        TypedTopics topics = new TypedTopics(names, new SchemaRegistryClient(url));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            List<NewTopic> created = new ArrayList<>();
            for (String name : names.all(4)) {
                created.add(new NewTopic(name, 1, (short) 1));
            }
            admin.createTopics(created).all().get();
        }

        // When one record of each type is produced and consumed back
        // Then the consumed value equals the produced one and the key is the request id
        assertEquals(
                List.of(Samples.request("b1"), Samples.request("b2")),
                produceAndConsume(
                        topics.requests(),
                        List.of(Samples.request("b1"), Samples.request("b2")),
                        InferenceRequest::getRequestId));
        assertEquals(
                List.of(Samples.block("b")),
                produceAndConsume(topics.expert(3), List.of(Samples.block("b")), DispatchBlock::getRequestId));
        assertEquals(
                List.of(Samples.result("b")),
                produceAndConsume(topics.expertResults(), List.of(Samples.result("b")), ExpertResult::getRequestId));
        assertEquals(
                List.of(Samples.manifest("b")),
                produceAndConsume(topics.manifests(), List.of(Samples.manifest("b")), DispatchManifest::getRequestId));
        assertEquals(
                List.of(Samples.response("b"), Samples.rejected("c")),
                produceAndConsume(
                        topics.responses(),
                        List.of(Samples.response("b"), Samples.rejected("c")),
                        InferenceResponse::getRequestId));
        assertEquals(
                List.of(Samples.deadLetter("b")),
                produceAndConsume(topics.deadLetter(), List.of(Samples.deadLetter("b")), DeadLetter::getRequestId));
    }

    private static <V> List<V> produceAndConsume(Topic<String, V> topic, List<V> values, Function<V, String> key) {
        Properties producerProps = new Properties();
        producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, V> producer = new KafkaProducer<>(
                producerProps, topic.keySerde().serializer(), topic.valueSerde().serializer())) {
            for (V value : values) {
                producer.send(new ProducerRecord<>(topic.name(), key.apply(value), value));
            }
            producer.flush();
        }
        Properties consumerProps = new Properties();
        consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + UUID.randomUUID());
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<V> received = new ArrayList<>();
        try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(
                consumerProps,
                topic.keySerde().deserializer(),
                topic.valueSerde().deserializer())) {
            consumer.subscribe(List.of(topic.name()));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (received.size() < values.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, V> record : consumer.poll(Duration.ofMillis(200))) {
                    assertEquals(key.apply(record.value()), record.key(), "key of " + topic.name());
                    received.add(record.value());
                }
            }
        }
        return received;
    }

    @Test
    void framesBytesExactlyLikeAnIndependentConfluentEncoding() throws Exception {
        // Given a serializer on the real registry
        String topic = prefix() + "requests";
        SchemaRegistryClient client = new SchemaRegistryClient(url);
        InferenceRequest request = Samples.request("frame");

        // When a request is serialized
        byte[] bytes = new AvroSerializer<InferenceRequest>(client).serialize(topic, request);

        // Then the bytes are 0x0, the registered id big-endian, and the Avro binary of a generic writer
        int id = new SchemaRegistryClient(url).lookupId(topic + "-value", InferenceRequest.getClassSchema());
        Schema schema =
                new Schema.Parser().parse(InferenceRequest.getClassSchema().toString());
        Schema tensorSchema = schema.getField("tokens").schema();
        GenericRecord tensor = new GenericData.Record(tensorSchema);
        tensor.put(
                "dtype",
                new GenericData.EnumSymbol(tensorSchema.getField("dtype").schema(), "F32"));
        tensor.put("shape", List.of(3, 2));
        ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : new float[] {0.5f, -1f, 2f, 3.25f, -0.125f, 7f}) {
            data.putFloat(f);
        }
        tensor.put("data", data.flip());
        GenericRecord generic = new GenericData.Record(schema);
        generic.put("requestId", "frame");
        generic.put("tokens", tensor);
        generic.put("deadlineMs", 1_700_000_000_123L);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.write(0);
        expected.write(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(expected, null);
        new GenericDatumWriter<GenericRecord>(schema).write(generic, encoder);
        encoder.flush();
        assertArrayEquals(expected.toByteArray(), bytes);
    }

    @Test
    void servesThousandsOfRecordsFromTheCacheWithoutHttpCalls() {
        // Given a serde that has serialized and deserialized one record
        String topic = prefix() + "expert.0";
        SchemaRegistryClient writerClient = new SchemaRegistryClient(url);
        SchemaRegistryClient readerClient = new SchemaRegistryClient(url);
        AvroSerializer<DispatchBlock> serializer = new AvroSerializer<>(writerClient);
        AvroDeserializer<DispatchBlock> deserializer = new AvroDeserializer<>(readerClient, DispatchBlock.class);
        deserializer.deserialize(topic, serializer.serialize(topic, Samples.block("warm")));
        long writerCalls = writerClient.httpRequestCount();
        long readerCalls = readerClient.httpRequestCount();

        // When 1000 more records go through both
        for (int i = 0; i < 1000; i++) {
            DispatchBlock block = Samples.block("r" + i);
            assertEquals(block, deserializer.deserialize(topic, serializer.serialize(topic, block)));
        }

        // Then neither client sent another request
        assertEquals(1, writerCalls);
        assertEquals(1, readerCalls);
        assertEquals(writerCalls, writerClient.httpRequestCount());
        assertEquals(readerCalls, readerClient.httpRequestCount());
    }

    @Test
    void rejectsCorruptPayloadsWithTheDocumentedMessages() {
        // Given a valid payload with a real schema id, and corrupted variants of it
        String topic = prefix() + "manifests";
        SchemaRegistryClient client = new SchemaRegistryClient(url);
        byte[] valid = new AvroSerializer<DispatchManifest>(client).serialize(topic, Samples.manifest("x"));
        int id = WireFormat.schemaId(valid);
        byte[] wrongMagic = valid.clone();
        wrongMagic[0] = 0x1;
        byte[] unknownId = valid.clone();
        ByteBuffer.wrap(unknownId).putInt(1, 2_000_000_000);
        byte[] truncated = Arrays.copyOf(valid, valid.length - 3);
        AvroDeserializer<DispatchManifest> deserializer =
                new AvroDeserializer<>(new SchemaRegistryClient(url), DispatchManifest.class);

        // When each is deserialized
        String magic = assertThrows(SerializationException.class, () -> deserializer.deserialize(topic, wrongMagic))
                .getMessage();
        String tooShort = assertThrows(
                        SerializationException.class, () -> deserializer.deserialize(topic, Arrays.copyOf(valid, 4)))
                .getMessage();
        String unknown = assertThrows(SerializationException.class, () -> deserializer.deserialize(topic, unknownId))
                .getMessage();
        String cut = assertThrows(SerializationException.class, () -> deserializer.deserialize(topic, truncated))
                .getMessage();

        // Then each names the problem, and the valid payload still reads fine
        assertTrue(magic.startsWith("unknown magic byte 0x01 (expected 0x0)"), magic);
        assertTrue(tooShort.startsWith("payload too short: 4 bytes (need at least 5"), tooShort);
        assertTrue(unknown.startsWith("unknown schema id 2000000000"), unknown);
        assertTrue(cut.startsWith("truncated or corrupt Avro payload for schema id " + id + " "), cut);
        assertEquals(Samples.manifest("x"), deserializer.deserialize(topic, valid));
    }

    @Test
    void reportsARegistryOutageNamingTheUrl() throws Exception {
        // Given a valid payload and serdes whose client points at a closed port
        String topic = prefix() + "responses";
        byte[] valid = new AvroSerializer<InferenceResponse>(new SchemaRegistryClient(url))
                .serialize(topic, Samples.response("o"));
        String deadUrl = "http://127.0.0.1:" + SchemaRegistryClientTest.closedPort() + "/apis/ccompat/v7";
        AvroSerde<InferenceResponse> serde =
                new AvroSerde<>(new SchemaRegistryClient(deadUrl), InferenceResponse.class);

        // When it serializes and deserializes
        String write = assertThrows(
                        SerializationException.class, () -> serde.serializer().serialize(topic, Samples.response("o")))
                .getMessage();
        String read = assertThrows(
                        SerializationException.class, () -> serde.deserializer().deserialize(topic, valid))
                .getMessage();

        // Then both messages say the registry at that URL is unreachable
        assertTrue(write.startsWith("schema registry unreachable while registering"), write);
        assertTrue(write.contains("schema registry at " + deadUrl + " is unreachable"), write);
        assertTrue(read.startsWith("schema registry unreachable while reading writer schema id"), read);
        assertTrue(read.contains("schema registry at " + deadUrl + " is unreachable"), read);
    }
}
