package io.moestreams.deploy;

import io.moestreams.avro.InferenceResponse;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Counts the committed responses of one run as they are written: assigned to every partition of the responses
 * topic (no group, no rebalance) from the end offsets taken before the run starts, so it sees this run only.
 */
final class ResponseWatcher implements AutoCloseable {

    private final KafkaConsumer<String, InferenceResponse> consumer;
    private final String prefix;
    private final Map<String, Integer> perId = new HashMap<>();

    ResponseWatcher(String bootstrap, String registry, String prefix) {
        this.prefix = prefix;
        TypedTopics typed = new TypedTopics(new Topics(), new SchemaRegistryClient(registry));
        consumer = new KafkaConsumer<>(
                Map.of(
                        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        bootstrap,
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                        "read_committed",
                        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                        false),
                new StringDeserializer(),
                typed.responses().valueSerde().deserializer());
        List<TopicPartition> partitions = new ArrayList<>();
        for (PartitionInfo p : consumer.partitionsFor(typed.names().responses(), Duration.ofMinutes(2))) {
            partitions.add(new TopicPartition(p.topic(), p.partition()));
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(p -> consumer.position(p, Duration.ofMinutes(2)));
    }

    /** Polls once; returns the number of this run's requests answered so far. */
    int poll(Duration wait) {
        for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(wait)) {
            String id = r.value().getRequestId().toString();
            if (id.startsWith(prefix)) {
                perId.merge(id, 1, Integer::sum);
            }
        }
        return perId.size();
    }

    /** Polls until {@code count} requests are answered. */
    void await(int count, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (poll(Duration.ofMillis(100)) < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + perId.size() + " " + prefix + "* answered within " + timeout);
            }
        }
    }

    @Override
    public void close() {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
