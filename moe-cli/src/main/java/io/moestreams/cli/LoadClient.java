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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A load generator for benchmarks: sends requests with a producer and completes one future per request id from a
 * background thread that reads the responses topic (read_committed, from its end offsets at start). Unlike
 * {@link InferenceClient} it keeps its assignment across sends, so closed-loop, open-loop and burst loads measure
 * the platform, not the client's set-up.
 */
final class LoadClient implements AutoCloseable {

    /** A response and when it arrived ({@link System#nanoTime}). */
    record Arrival(InferenceResponse response, long atNanos) {}

    private final KafkaProducer<String, InferenceRequest> producer;
    private final KafkaConsumer<String, InferenceResponse> consumer;
    private final Topics topics;
    private final Map<String, CompletableFuture<Arrival>> waiting = new ConcurrentHashMap<>();
    private final Thread reader;
    private final CountDownLatch assigned = new CountDownLatch(1);
    private volatile boolean running = true;

    LoadClient(String bootstrap, String registryUrl, Topics topics, Map<String, String> kafka) {
        this.topics = topics;
        TypedTopics typed = new TypedTopics(topics, SchemaRegistryClient.create(registryUrl, kafka));
        Properties pp = new Properties();
        pp.putAll(kafka);
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        pp.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Limits.MAX_RECORD_BYTES);
        this.producer = new KafkaProducer<>(
                pp, new StringSerializer(), typed.requests().valueSerde().serializer());
        Properties cp = new Properties();
        cp.putAll(kafka);
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cp.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        this.consumer = new KafkaConsumer<>(
                cp, new StringDeserializer(), typed.responses().valueSerde().deserializer());
        this.reader = new Thread(this::read, "moe-load-client-responses");
        this.reader.setDaemon(true);
        this.reader.start();
        try {
            if (!assigned.await(150, TimeUnit.SECONDS) || reader.getState() == Thread.State.TERMINATED) {
                throw new IllegalStateException("the responses topic " + topics.responses() + " did not appear");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void read() {
        try {
            List<TopicPartition> partitions = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (partitions.isEmpty() && running && System.nanoTime() < deadline) {
                // the gateway creates the topics when it starts: wait for them
                for (PartitionInfo p : consumer.partitionsFor(topics.responses(), Duration.ofSeconds(30))) {
                    partitions.add(new TopicPartition(p.topic(), p.partition()));
                }
                if (partitions.isEmpty()) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
                }
            }
            if (partitions.isEmpty()) {
                return;
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
            assigned.countDown();
            while (running) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(200))) {
                    long now = System.nanoTime();
                    InferenceResponse resp = r.value();
                    if (resp == null) {
                        continue;
                    }
                    CompletableFuture<Arrival> f = waiting.remove(resp.getRequestId());
                    if (f != null) {
                        f.complete(new Arrival(resp, now));
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            assigned.countDown();
        }
    }

    /** Sends one request; the future completes when its response arrives. */
    CompletableFuture<Arrival> send(String id, float[] tokens, int seqLen, int hiddenSize) {
        CompletableFuture<Arrival> f = new CompletableFuture<>();
        waiting.put(id, f);
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRequestId(id)
                .setTokens(Tensors.f32(tokens, seqLen, hiddenSize))
                .setDeadlineMs(null)
                .build();
        producer.send(new ProducerRecord<>(topics.requests(), id, request), (md, e) -> {
            if (e != null) {
                waiting.remove(id);
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    void flush() {
        producer.flush();
    }

    /** Requests sent and not answered yet. */
    int outstanding() {
        return waiting.size();
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(5));
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
