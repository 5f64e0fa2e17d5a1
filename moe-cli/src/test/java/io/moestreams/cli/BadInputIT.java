package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.TypedTopics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Bad requests land on the dead-letter topic with their original bytes and reasons; the stream goes on. */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class BadInputIT {

    private static final int HIDDEN = 16;

    @Test
    void badRequestsGoToDeadLetterWithReasonsWhileGoodOnesComplete(@TempDir Path dir) throws Exception {
        // Given a gateway accepting at most 8 tokens and 1500-byte records, and its experts
        PipelineHarness h = new PipelineHarness();
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model, "mixtral", "{\"type\": \"topk_softmax\", \"top_k\": 2}", "silu", null, "none", HIDDEN, 32, 4, 8);
        List<RequestLine> good = PipelineHarness.requests(dir, 20, HIDDEN, 1, 8, 13);
        TypedTopics typed = new TypedTopics(h.topics, new SchemaRegistryClient(h.stack.schemaRegistryUrl()));
        Serializer<InferenceRequest> ser = typed.requests().valueSerde().serializer();
        String topic = h.topics.requests();

        Map<String, byte[]> bad = new LinkedHashMap<>(); // key -> value bytes
        Map<String, String> expectedField = new HashMap<>();
        bad.put("bad-bytes", "this is not avro".getBytes(StandardCharsets.UTF_8));
        expectedField.put("bad-bytes", "value");
        byte[] unknownId = ByteBuffer.allocate(9)
                .put((byte) 0)
                .putInt(987_654_321)
                .putInt(42)
                .array();
        bad.put("unknown-id", unknownId);
        expectedField.put("unknown-id", "value");
        bad.put("wrong-hidden", ser.serialize(topic, request("wrong-hidden", new float[3 * 8], 3, 8)));
        expectedField.put("wrong-hidden", "tokens.shape[1]");
        float[] nan = new float[2 * HIDDEN];
        nan[HIDDEN + 2] = Float.NaN;
        bad.put("nan", ser.serialize(topic, request("nan", nan, 2, HIDDEN)));
        expectedField.put("nan", "tokens[1][2]");
        bad.put("empty", ser.serialize(topic, request("empty", new float[0], 0, HIDDEN)));
        expectedField.put("empty", "tokens.shape[0]");
        bad.put("too-long", ser.serialize(topic, request("too-long", new float[9 * HIDDEN], 9, HIDDEN)));
        expectedField.put("too-long", "tokens.shape[0]");
        bad.put("oversized", ser.serialize(topic, request("oversized", new float[30 * HIDDEN], 30, HIDDEN)));
        expectedField.put("oversized", "value");
        RequestLine first = good.get(0);
        bad.put(first.id(), ser.serialize(topic, request(first.id(), first.tokens(), first.seqLen(), HIDDEN)));
        expectedField.put(first.id(), "requestId");

        try (LocalPipeline pipeline = h.start(
                        model,
                        List.of(Set.of(0, 1, 2, 3)),
                        Map.of("moe.gateway.max-seq-len", "8", "moe.gateway.max-request-bytes", "1500"));
                KafkaProducer<String, byte[]> producer = producer(h)) {
            // When good and bad records are interleaved on the requests topic (the duplicate after its original)
            List<String> badKeys = new ArrayList<>(bad.keySet());
            for (int i = 0; i < good.size(); i++) {
                RequestLine g = good.get(i);
                producer.send(new ProducerRecord<>(
                        topic, g.id(), ser.serialize(topic, request(g.id(), g.tokens(), g.seqLen(), HIDDEN))));
                if (i < badKeys.size()) {
                    producer.send(new ProducerRecord<>(topic, badKeys.get(i), bad.get(badKeys.get(i))));
                }
                producer.flush();
            }

            // Then every bad record is on the dead-letter topic with its original bytes and a reason naming the field
            List<DeadLetter> letters =
                    h.readAtLeast(h.topics.deadLetter(), DeadLetter.class, bad.size(), Duration.ofSeconds(60));
            assertEquals(bad.size(), letters.size());
            for (DeadLetter letter : letters) {
                String key = new String(bytes(letter.getKey()), StandardCharsets.UTF_8);
                assertTrue(bad.containsKey(key), "unexpected dead letter for " + key);
                assertArrayEquals(bad.get(key), bytes(letter.getValue()), key + ": original bytes");
                assertEquals(expectedField.get(key), letter.getField(), key + ": " + letter.getReason());
                assertEquals(topic, letter.getSourceTopic());
                assertTrue(letter.getReason().startsWith(expectedField.get(key) + ":"), letter.getReason());
            }
            Map<String, String> reasons = new HashMap<>();
            letters.forEach(l -> reasons.put(new String(bytes(l.getKey()), StandardCharsets.UTF_8), l.getReason()));
            assertTrue(reasons.get("too-long").contains("at most 8"), reasons.get("too-long"));
            assertTrue(reasons.get("oversized").contains("1500"), reasons.get("oversized"));
            assertTrue(reasons.get("unknown-id").contains("987654321"), reasons.get("unknown-id"));
            assertTrue(reasons.get(first.id()).contains("duplicate"), reasons.get(first.id()));
            assertTrue(reasons.get("nan").contains("NaN"), reasons.get("nan"));

            // ...and the good requests complete, the rejected ones with a decodable id get REJECTED responses
            int expectedResponses = good.size() + bad.size();
            List<InferenceResponse> responses = h.readAtLeast(
                    h.topics.responses(), InferenceResponse.class, expectedResponses, Duration.ofSeconds(60));
            Map<String, List<ResponseStatus>> statuses = new HashMap<>();
            for (InferenceResponse r : responses) {
                statuses.computeIfAbsent(r.getRequestId(), k -> new ArrayList<>())
                        .add(r.getStatus());
            }
            for (RequestLine g : good) {
                assertTrue(statuses.get(g.id()).contains(ResponseStatus.OK), g.id() + ": " + statuses.get(g.id()));
            }
            List<ResponseStatus> firstStatuses = new ArrayList<>(statuses.get(first.id()));
            firstStatuses.sort(null);
            assertEquals(
                    List.of(ResponseStatus.OK, ResponseStatus.REJECTED),
                    firstStatuses,
                    "the original is answered, its duplicate rejected");
            for (String key : List.of("wrong-hidden", "nan", "empty", "too-long", "oversized", "bad-bytes")) {
                assertNotNull(statuses.get(key), key);
                assertEquals(List.of(ResponseStatus.REJECTED), statuses.get(key), key);
            }
            // ...and with every good request answered, no in-flight credit is held (rejections never took any)
            assertEquals(0, pipeline.gateway().ledger().pendingRequests());
        }
    }

    private static InferenceRequest request(String id, float[] data, int s, int d) {
        return InferenceRequest.newBuilder()
                .setRequestId(id)
                .setTokens(Tensors.f32(data, s, d))
                .build();
    }

    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer dup = b.duplicate();
        byte[] out = new byte[dup.remaining()];
        dup.get(out);
        return out;
    }

    private static KafkaProducer<String, byte[]> producer(PipelineHarness h) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, h.stack.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }
}
