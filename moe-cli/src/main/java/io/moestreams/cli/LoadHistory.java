package io.moestreams.cli;

import io.moestreams.avro.ExpertLoad;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads the expert load record ({@code <prefix>expert-load}): the last publication of every (layer, instance,
 * window) key, and sums them over gateway instances and windows — what {@code moe plan} and {@code moe top} show.
 */
final class LoadHistory implements AutoCloseable {

    /**
     * The load of one layer summed over instances and windows.
     *
     * @param expertTokens per wire id, token rows dispatched
     * @param expertBlocks per wire id, dispatch blocks
     * @param top1         per routed expert, first choices before capacity
     * @param importance   per routed expert, summed router probability
     */
    record Totals(
            String layer,
            int numExperts,
            int numShared,
            long fromMs,
            long toMs,
            int windows,
            int instances,
            long sequences,
            long tokens,
            long droppedTokens,
            long[] expertTokens,
            long[] expertBlocks,
            long[] top1,
            double[] importance,
            long throttledMs) {

        /** CV² of the tokens per routed expert. */
        double loadCv2() {
            double mean = 0;
            for (int e = 0; e < numExperts; e++) {
                mean += expertTokens[e];
            }
            mean /= numExperts;
            if (mean == 0) {
                return 0;
            }
            double var = 0;
            for (int e = 0; e < numExperts; e++) {
                var += (expertTokens[e] - mean) * (expertTokens[e] - mean);
            }
            return var / numExperts / (mean * mean);
        }

        /** Switch's E · Σ f_i · P_i without α (1.0 under perfect balance). */
        double auxLoss() {
            if (tokens == 0) {
                return 0;
            }
            double aux = 0;
            for (int e = 0; e < numExperts; e++) {
                aux += ((double) top1[e] / tokens) * (importance[e] / tokens);
            }
            return aux * numExperts;
        }

        double dropRate() {
            return tokens == 0 ? 0 : (double) droppedTokens / tokens;
        }

        double seconds() {
            return Math.max(1, toMs - fromMs) / 1000.0;
        }
    }

    private final KafkaConsumer<String, ExpertLoad> consumer;
    private final List<TopicPartition> partitions = new ArrayList<>();
    private final Map<String, ExpertLoad> latest = new HashMap<>();

    /** A reader of the topic from {@code fromMs} (record time) on. */
    LoadHistory(String bootstrap, String registryUrl, Topics topics, Map<String, String> kafka, long fromMs) {
        TypedTopics typed = new TypedTopics(topics, SchemaRegistryClient.create(registryUrl, kafka));
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        this.consumer = new KafkaConsumer<>(
                p, new StringDeserializer(), typed.expertLoad().valueSerde().deserializer());
        List<PartitionInfo> infos = consumer.partitionsFor(topics.expertLoad(), Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            consumer.close();
            throw new IllegalStateException("topic " + topics.expertLoad() + " does not exist: is a gateway of prefix '"
                    + topics.prefix() + "' running (it creates the topic)?");
        }
        for (PartitionInfo pi : infos) {
            partitions.add(new TopicPartition(pi.topic(), pi.partition()));
        }
        consumer.assign(partitions);
        Map<TopicPartition, Long> times = new HashMap<>();
        partitions.forEach(tp -> times.put(tp, Math.max(0, fromMs)));
        Map<TopicPartition, OffsetAndTimestamp> offsets = consumer.offsetsForTimes(times);
        for (TopicPartition tp : partitions) {
            OffsetAndTimestamp o = offsets.get(tp);
            if (o == null) {
                consumer.seekToEnd(List.of(tp));
            } else {
                consumer.seek(tp, o.offset());
            }
        }
    }

    /** Reads everything written so far (up to the end offsets at the call). */
    void catchUp(Duration timeout) {
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline
                && partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
            poll(Duration.ofMillis(200));
        }
    }

    /** Reads what has arrived within {@code timeout}. */
    void poll(Duration timeout) {
        for (ConsumerRecord<String, ExpertLoad> r : consumer.poll(timeout)) {
            if (r.value() != null) {
                latest.put(r.key(), r.value());
            }
        }
    }

    /** The last publication of every window key read so far. */
    Collection<ExpertLoad> records() {
        return latest.values();
    }

    /** Per layer, the sum of the windows that started within [fromMs, toMs) (open windows included). */
    static Map<String, Totals> totals(Collection<ExpertLoad> records, long fromMs, long toMs) {
        Map<String, List<ExpertLoad>> byLayer = new TreeMap<>();
        for (ExpertLoad r : records) {
            if (r.getWindowStartMs() >= fromMs && r.getWindowStartMs() < toMs) {
                byLayer.computeIfAbsent(r.getLayer(), k -> new ArrayList<>()).add(r);
            }
        }
        Map<String, Totals> out = new LinkedHashMap<>();
        byLayer.forEach((layer, list) -> out.put(layer, sum(layer, list)));
        return out;
    }

    /**
     * Per layer, the last window that every instance has closed (the newest window start among closed records),
     * summed over instances.
     */
    static Map<String, Totals> lastClosedWindow(Collection<ExpertLoad> records) {
        Map<String, Long> newest = new TreeMap<>();
        for (ExpertLoad r : records) {
            if (r.getClosed()) {
                newest.merge(r.getLayer(), r.getWindowStartMs(), Math::max);
            }
        }
        Map<String, Totals> out = new LinkedHashMap<>();
        newest.forEach((layer, start) -> {
            List<ExpertLoad> list = new ArrayList<>();
            for (ExpertLoad r : records) {
                if (r.getLayer().equals(layer) && r.getWindowStartMs() == start) {
                    list.add(r);
                }
            }
            out.put(layer, sum(layer, list));
        });
        return out;
    }

    private static Totals sum(String layer, List<ExpertLoad> list) {
        ExpertLoad first = list.get(0);
        int e = first.getNumExperts();
        int s = first.getNumShared();
        long[] tokens = new long[e + s];
        long[] blocks = new long[e + s];
        long[] top1 = new long[e];
        double[] importance = new double[e];
        long from = Long.MAX_VALUE;
        long to = Long.MIN_VALUE;
        long sequences = 0;
        long all = 0;
        long dropped = 0;
        long throttled = 0;
        Set<String> instances = new HashSet<>();
        Set<Long> windows = new HashSet<>();
        for (ExpertLoad r : list) {
            if (r.getNumExperts() != e || r.getNumShared() != s) {
                throw new IllegalStateException("layer " + layer + ": windows disagree on the number of experts (" + e
                        + "+" + s + " vs " + r.getNumExperts() + "+" + r.getNumShared() + ")");
            }
            from = Math.min(from, r.getWindowStartMs());
            to = Math.max(to, r.getWindowEndMs());
            sequences += r.getSequences();
            all += r.getTokens();
            dropped += r.getDroppedTokens();
            throttled += r.getThrottledMs();
            instances.add(r.getInstance());
            windows.add(r.getWindowStartMs());
            for (int w = 0; w < e + s; w++) {
                tokens[w] += r.getExpertTokens().get(w);
                blocks[w] += r.getExpertBlocks().get(w);
            }
            float[] imp = Tensors.toFloats(r.getImportance());
            for (int x = 0; x < e; x++) {
                top1[x] += r.getTop1().get(x);
                importance[x] += imp[x];
            }
        }
        return new Totals(
                layer,
                e,
                s,
                from,
                to,
                windows.size(),
                instances.size(),
                sequences,
                all,
                dropped,
                tokens,
                blocks,
                top1,
                importance,
                throttled);
    }

    @Override
    public void close() {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
