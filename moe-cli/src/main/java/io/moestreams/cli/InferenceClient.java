package io.moestreams.cli;

import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.schemas.Limits;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.function.IntConsumer;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Sends requests to the requests topic and collects one response per request id from the responses topic.
 * The response consumer starts at the topic's end offsets taken before the first send, so earlier runs' responses
 * are never mistaken for this run's.
 */
final class InferenceClient implements AutoCloseable {

    /** One request: row-major [seqLen, hidden] tokens. */
    record Input(String id, float[] tokens, int seqLen, int hiddenSize) {
        @Override
        public String toString() {
            return "Input[id=" + id + ", seqLen=" + seqLen + "]";
        }
    }

    /** A response and its client-side latency (send to receive). */
    record Answer(InferenceResponse response, long latencyNanos) {}

    private final KafkaProducer<String, InferenceRequest> producer;
    private final KafkaConsumer<String, InferenceResponse> consumer;
    private final Topics topics;

    InferenceClient(String bootstrap, String registryUrl, Topics topics, Map<String, String> kafka) {
        this.topics = topics;
        TypedTopics typed = new TypedTopics(topics, SchemaRegistryClient.create(registryUrl, kafka));
        Properties pp = new Properties();
        pp.putAll(kafka);
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 2);
        pp.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Limits.MAX_RECORD_BYTES);
        this.producer = new KafkaProducer<>(
                pp, new StringSerializer(), typed.requests().valueSerde().serializer());
        Properties cp = new Properties();
        cp.putAll(kafka);
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        this.consumer = new KafkaConsumer<>(
                cp, new StringDeserializer(), typed.responses().valueSerde().deserializer());
    }

    /**
     * Sends every input and waits for their responses.
     *
     * @param progress called with the number of responses received so far
     * @return answers by request id, in input order
     * @throws IllegalStateException naming the ids still unanswered when the timeout passes
     */
    Map<String, Answer> run(List<Input> inputs, Duration timeout, IntConsumer progress)
            throws InterruptedException, ExecutionException {
        return run(inputs, timeout, null, progress);
    }

    /**
     * As {@link #run(List, Duration, IntConsumer)}, each request carrying a deadline {@code requestDeadline} after its
     * sending (null: the gateway's default timeout; the gateway caps it at its maximum).
     */
    Map<String, Answer> run(List<Input> inputs, Duration timeout, Duration requestDeadline, IntConsumer progress)
            throws InterruptedException, ExecutionException {
        List<TopicPartition> partitions = new ArrayList<>();
        // a broker that is restarting answers metadata requests again within the run's timeout
        for (PartitionInfo p : consumer.partitionsFor(topics.responses(), timeout)) {
            partitions.add(new TopicPartition(p.topic(), p.partition()));
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(p -> consumer.position(p, timeout)); // materialise the end offsets before sending
        Map<String, Long> sentAt = new HashMap<>();
        for (Input in : inputs) {
            if (sentAt.containsKey(in.id())) {
                continue; // the gateway rejects the duplicate; its REJECTED response answers the first wait slot
            }
            InferenceRequest request = InferenceRequest.newBuilder()
                    .setRequestId(in.id())
                    .setTokens(Tensors.f32(in.tokens(), in.seqLen(), in.hiddenSize()))
                    .setDeadlineMs(
                            requestDeadline == null ? null : System.currentTimeMillis() + requestDeadline.toMillis())
                    .build();
            sentAt.put(in.id(), System.nanoTime());
            producer.send(new ProducerRecord<>(topics.requests(), in.id(), request));
        }
        producer.flush();
        Map<String, Answer> answers = new HashMap<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (answers.size() < sentAt.size()) {
            if (System.nanoTime() > deadline) {
                List<String> missing = new ArrayList<>();
                for (String id : sentAt.keySet()) {
                    if (!answers.containsKey(id) && missing.size() < 10) {
                        missing.add(id);
                    }
                }
                throw new IllegalStateException((sentAt.size() - answers.size()) + " of " + sentAt.size()
                        + " requests got no response within " + timeout.toSeconds() + " s, e.g. " + missing
                        + " — are the gateway and expert workers running?");
            }
            for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(100))) {
                InferenceResponse resp = r.value();
                if (resp == null) {
                    continue;
                }
                Long t0 = sentAt.get(resp.getRequestId());
                if (t0 != null && !answers.containsKey(resp.getRequestId())) {
                    answers.put(resp.getRequestId(), new Answer(resp, System.nanoTime() - t0));
                    progress.accept(answers.size());
                }
            }
        }
        Map<String, Answer> ordered = new LinkedHashMap<>();
        for (Input in : inputs) {
            ordered.putIfAbsent(in.id(), answers.get(in.id()));
        }
        return ordered;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
